"""Issued credentials: looked at and revoked, never created nor edited.

Token values are never shown (only their last four characters) and never searchable: a search
term lands in the query string, and so in access logs and browser history.
"""

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.urls import reverse
from django.utils.html import format_html

from oauthcore.admin.base import ReadOnlyAdminMixin, admin_actor, mask_secret
from oauthcore.constants import SubjectType
from oauthcore.models import User
from oauthcore.services.tokens import RevokedCount, tokens_revoke

SEARCH_FIELDS = ("application__name", "application__client_id", "user__username", "user__email")


def masked_token(obj, field: str = "token") -> str:
    """Issued tokens are stored as a SHA-256 checksum only (RFC 9700 token storage): show its end."""
    value = getattr(obj, field)
    if not value and getattr(obj, "token_checksum", ""):
        return f"sha256 …{obj.token_checksum[-8:]}"
    return mask_secret(value)


class IssuedCredentialAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    value_field = "token"
    search_fields = SEARCH_FIELDS
    list_select_related = ("application", "user")
    list_filter = ("application", "expires")
    actions = ("revoke",)

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_revoke_permission(self, request):
        opts = self.opts
        return any(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in ("change", "delete")
        )

    @admin.display(description="value")
    def masked_value(self, obj):
        return masked_token(obj, self.value_field)

    # -- revoking --------------------------------------------------------------------------------------

    def revoke_groups(self, queryset):
        """``(application id, user id, audience)`` of the selected rows: what tokens_revoke filters on."""
        return set(queryset.values_list("application_id", "user_id", "audience"))

    @admin.action(permissions=["revoke"])
    def revoke(self, request, queryset):
        groups = self.revoke_groups(queryset)
        users = User.objects.in_bulk({user_id for _, user_id, _ in groups if user_id is not None})
        actor = admin_actor(request)
        access = refresh = codes = 0
        for application_id, user_id, audience in groups:
            user = users.get(user_id)
            if audience is None:  # ID tokens: everything the app holds for the user
                if user is None:
                    continue
                subject_type = None
            else:
                subject_type = SubjectType.USER if user is not None else SubjectType.CLIENT
            counts = tokens_revoke(
                actor=actor,
                applications=[application_id],
                user=user,
                audience=audience,
                subject_type=subject_type,
                reason="revoked by a tenant admin",
            )
            access += counts.access_tokens
            refresh += counts.refresh_tokens
            codes += counts.authorization_codes
        self.message_user(request, f"Revoked {RevokedCount(access, refresh, codes)}.", messages.SUCCESS)


def masked_link(obj, attribute: str, url_name: str):
    related = getattr(obj, attribute, None)  # a missing reverse one-to-one raises an AttributeError
    if related is None:
        return "—"
    return format_html('<a href="{}">{}</a>', reverse(url_name, args=[related.pk]), masked_token(related))


class AccessTokenAdmin(IssuedCredentialAdmin):
    list_display = ("id", "masked_value", "application", "user", "audience", "expires", "created")
    list_filter = ("application", "expires", "audience")
    fields = (
        "id",
        "masked_value",
        "application",
        "user",
        "audience",
        "scope",
        "expires",
        "refresh_token_link",
        "source_refresh_token_link",
        "id_token",
        "created",
        "updated",
    )
    actions = ("revoke",)

    @admin.action(
        description="Revoke selected access tokens (and every token of the same application, user and API)",
        permissions=["revoke"],
    )
    def revoke(self, request, queryset):
        super().revoke(request, queryset)

    @admin.display(description="refresh token")
    def refresh_token_link(self, obj):
        return masked_link(obj, "refresh_token", "admin:oauthcore_refreshtoken_change")

    @admin.display(description="issued from refresh token")
    def source_refresh_token_link(self, obj):
        return masked_link(obj, "source_refresh_token", "admin:oauthcore_refreshtoken_change")


class RefreshTokenAdmin(IssuedCredentialAdmin):
    list_display = ("id", "masked_value", "application", "user", "audience", "revoked", "created")
    list_filter = ("application", "revoked", "audience")
    fields = (
        "id",
        "masked_value",
        "application",
        "user",
        "audience",
        "token_family",
        "access_token_link",
        "revoked",
        "created",
        "updated",
    )
    actions = ("revoke",)

    @admin.action(
        description="Revoke selected refresh tokens (and every token of the same application, user and API)",
        permissions=["revoke"],
    )
    def revoke(self, request, queryset):
        super().revoke(request, queryset)

    @admin.display(description="access token")
    def access_token_link(self, obj):
        return masked_link(obj, "access_token", "admin:oauthcore_accesstoken_change")


class GrantAdmin(IssuedCredentialAdmin):
    value_field = "code"
    list_display = ("id", "masked_value", "application", "user", "audience", "expires", "created")
    fields = (
        "id",
        "masked_value",
        "application",
        "user",
        "audience",
        "scope",
        "redirect_uri",
        "code_challenge_method",
        "expires",
        "created",
        "updated",
    )
    actions = ("revoke",)

    @admin.action(
        description="Revoke selected authorization codes (and every token of the same application, user and API)",
        permissions=["revoke"],
    )
    def revoke(self, request, queryset):
        super().revoke(request, queryset)


class IDTokenAdmin(IssuedCredentialAdmin):
    list_display = ("jti", "application", "user", "expires", "created")
    fields = ("id", "jti", "application", "user", "scope", "expires", "created", "updated")
    actions = ("revoke",)

    def revoke_groups(self, queryset):
        return {(app, user, None) for app, user in queryset.values_list("application_id", "user_id")}

    @admin.action(
        description="Revoke the tokens of the selected ID tokens' applications and users", permissions=["revoke"]
    )
    def revoke(self, request, queryset):
        super().revoke(request, queryset)
