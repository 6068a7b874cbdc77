"""A stamp for everything the access decision reads about APIs, grants and the tenant."""

import secrets

from django.db import models
from django.db.models import Q

SINGLETON_ID = 1


def new_stamp() -> str:
    return secrets.token_hex(16)


class PolicyVersion(models.Model):
    """One row whose ``stamp`` is replaced, in the same transaction, by every write to an API, its
    scopes, a client grant or the tenant settings (see ``oauthcore.policy_cache``). A random value
    rather than a counter: a restored or re-created table can never bring back a stamp that some
    process still holds entries for."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    stamp = models.CharField(max_length=32, default=new_stamp)

    class Meta:
        constraints = [models.CheckConstraint(name="policy_version_singleton", condition=Q(id=SINGLETON_ID))]

    def __str__(self):
        return self.stamp
