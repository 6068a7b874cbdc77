"""What goes with an API or an app deleted in the admin, counted before the delete and said in words on
Django's delete pages (one object, and the "Delete selected" action).

Each summary is read-only and runs a fixed number of COUNT statements, however many objects are
selected. It counts what the delete really removes: the rows Django's cascade deletes (found through
the model registry, so the models of the apps built on oauthcore are counted without importing them)
and what the delete service revokes first (``application_delete``, ``resource_server_delete``).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.admin.utils import quote
from django.db import models
from django.db.models.deletion import get_candidate_relations_to_delete
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from oauthcore.admin.base import counted
from oauthcore.consents import consent_store
from oauthcore.models import (
    AccessToken,
    Application,
    Grant,
    IDToken,
    Organization,
    OrganizationMember,
    PreviousClientSecret,
    RefreshToken,
    ResourceServer,
)

STOP_AT_ONCE = "deleted: they stop working at once"
# Relations whose rows stay (or keep the object from going): nothing goes with the object through them.
KEEPING = (models.SET_NULL, models.SET_DEFAULT, models.DO_NOTHING)
REFUSING = (models.PROTECT, models.RESTRICT)


@dataclass(frozen=True)
class Consequence:
    """``count`` rows of one kind and what happens to them, e.g. "3 client grants deleted"."""

    count: int
    singular: str
    plural: str
    fate: str = "deleted"
    model: type[models.Model] | None = None  # whose rows, when they are deleted (the admin needs the right)
    shown: bool = True  # False: part of another row shown (an access token's ID token), counted all the same

    def __str__(self):
        return f"{counted(self.count, self.singular, self.plural)} {self.fate}"

    @classmethod
    def rows(cls, model, count: int, fate: str = "deleted", *, shown: bool = True) -> "Consequence":
        options = model._meta
        return cls(count, str(options.verbose_name), str(options.verbose_name_plural), fate, model, shown)


@dataclass(frozen=True)
class DeletionSummary:
    consequences: tuple[Consequence, ...]
    notes: tuple[str, ...] = ()  # what is not removed, when a reader could expect it to be
    protected: tuple[str, ...] = ()  # rows that keep the objects from being deleted

    @property
    def shown(self) -> list[Consequence]:
        """What the page lists: the kinds with rows to lose (a list of zeros hides what matters)."""
        return [c for c in self.consequences if c.shown and c.count]

    def deleted_models(self) -> set:
        return {c.model for c in self.consequences if c.count and c.model is not None}


def cascade_counts(
    model, pks: Sequence, *, hidden: Iterable = (), fates: dict | None = None
) -> tuple[list[Consequence], list[str]]:
    """The rows Django's cascade deletes with the objects ``pks`` of ``model`` (one COUNT per kind), and
    the rows that would refuse the delete.

    Only the direct relations: what they cascade to in turn (an access token's ID token) is part of them.
    Counted but not shown: the ``hidden`` models and one-to-one parts of the object (a partner's link
    to its app); many-to-many links are left out (they only stop listing the object)."""
    hidden, fates = set(hidden), fates or {}
    parents = model._base_manager.filter(pk__in=pks)  # a subquery: relations may point at another column
    found, refusing = [], []
    for relation in get_candidate_relations_to_delete(model._meta):
        related = relation.related_model
        if related._meta.auto_created or relation.on_delete in KEEPING:
            continue
        count = related._base_manager.filter(**{f"{relation.field.name}__in": parents}).count()
        if relation.on_delete in REFUSING:
            if count:
                refusing.append(counted(count, str(related._meta.verbose_name), str(related._meta.verbose_name_plural)))
            continue
        shown = related not in hidden and not relation.one_to_one
        found.append(Consequence.rows(related, count, fates.get(related, "deleted"), shown=shown))
    return found, refusing


def application_deletion_summary(pks: Sequence) -> DeletionSummary:
    """An app goes with its grants, its users' consents, its tokens and its access requests."""
    consequences, refusing = cascade_counts(
        Application,
        pks,
        hidden=(PreviousClientSecret, IDToken),  # the old secrets, and ID tokens (with their access tokens)
        fates={AccessToken: STOP_AT_ONCE, RefreshToken: STOP_AT_ONCE},
    )
    return DeletionSummary(tuple(consequences), protected=tuple(refusing))


def resource_server_deletion_summary(pks: Sequence) -> DeletionSummary:
    """An API goes with its scopes, its client grants and its access requests; the tokens issued for it
    are revoked (found by their audience, the API's identifier)."""
    identifiers = list(ResourceServer.objects.filter(pk__in=pks).values_list("identifier", flat=True))
    access = AccessToken.objects.filter(audience__in=identifiers).count()
    refresh = RefreshToken.objects.filter(audience__in=identifiers, revoked__isnull=True).count()
    codes = Grant.objects.filter(audience__in=identifiers).count()
    # Revoked by the delete service, not reached by the cascade: no right to delete tokens is asked for.
    tokens = [
        Consequence(access, "access token", "access tokens", STOP_AT_ONCE),
        Consequence(refresh, "valid refresh token", "valid refresh tokens", "revoked: they stop working at once"),
        Consequence(codes, "authorization code", "authorization codes"),
        Consequence(
            consent_store().count_for_apis(audiences=identifiers), "user consent", "user consents", "taken back"
        ),
    ]
    cascaded, refusing = cascade_counts(ResourceServer, pks)
    return DeletionSummary((*cascaded, *tokens), (), tuple(refusing))


def organization_deletion_summary(pks: Sequence) -> DeletionSummary:
    """An organization goes with its memberships (the users stay), its enabled connections and
    authorized grants (the connections and grants stay), its users' consents and every token issued
    for it; the machine-to-machine tokens of the grants it authorized are withdrawn too."""
    consequences, refusing = cascade_counts(
        Organization,
        pks,
        hidden=(IDToken,),
        fates={
            AccessToken: STOP_AT_ONCE,
            RefreshToken: STOP_AT_ONCE,
            OrganizationMember: "removed from it (the users themselves stay)",
        },
    )
    notes = ("The connections and client grants themselves stay: only their link to the organization goes.",)
    return DeletionSummary(tuple(consequences), notes, tuple(refusing))


# -- the admin pages ------------------------------------------------------------------------------------


class DeletionSummaryMixin:
    """Django's delete pages, telling what goes with the objects: ``deletion_summary(pks)`` in words,
    and the objects themselves, instead of every related row (thousands of tokens, one by one).

    The same summary decides whether the admin may delete: the right to delete each kind of row that
    goes with the objects (as Django's page asks of every row), and none that refuses the delete. A
    fixed number of statements, however many objects are selected.
    """

    deletion_summary = None  # a staticmethod: (pks) -> DeletionSummary
    delete_confirmation_template = "admin/deletion/delete_confirmation.html"
    delete_selected_confirmation_template = "admin/deletion/delete_selected_confirmation.html"

    def get_deleted_objects(self, objs, request):
        objs = list(objs)
        summary = self.deletion_summary([obj.pk for obj in objs])
        site = self.admin_site
        perms_needed = {
            model._meta.verbose_name
            for model in summary.deleted_models()
            if site.is_registered(model) and not site.get_model_admin(model).has_delete_permission(request)
        }
        # For the page (templates/admin/deletion/): Django's two delete views pass on only the counts.
        request.deletion_summary = summary
        return [self._object_link(obj) for obj in objs], {}, perms_needed, list(summary.protected)

    def _object_link(self, obj) -> str:
        options = obj._meta
        try:
            name = f"{self.admin_site.name}:{options.app_label}_{options.model_name}_change"
            url = reverse(name, args=[quote(obj.pk)])
        except NoReverseMatch:
            return f"{capfirst(options.verbose_name)}: {obj}"
        return format_html('{}: <a href="{}">{}</a>', capfirst(options.verbose_name), url, obj)
