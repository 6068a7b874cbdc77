"""Periodic and deferred work of the authorization server."""

from django.utils import timezone
from oauth2_provider.models import clear_expired

from oauthcore.services.applications import previous_secrets_retire
from portal.platform.tasks_base import portcullis_task


@portcullis_task
def clear_expired_tokens() -> None:
    """Delete expired and revoked tokens, authorization codes (DOT's cleartokens, in batches) and
    expired device authorizations (which also frees their user codes)."""
    from oauthcore.models import DeviceGrant

    clear_expired()
    DeviceGrant.objects.filter(expires__lt=timezone.now()).delete()


@portcullis_task
def retire_previous_client_secrets() -> None:
    """Periodic: delete the replaced client secrets whose grace period is over.

    They stopped authenticating at their expiry already (client authentication checks it); this
    only removes them, with an audit event each.
    """
    previous_secrets_retire()


@portcullis_task
def seal_audit_log() -> None:
    """Periodic: chain the audit entries written since the last run (``audit_chain.seal``).

    Writers append entries without a lock; until this runs they are reported pending."""
    from oauthcore.audit_chain import seal

    seal()
