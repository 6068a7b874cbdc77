"""What the apps above consent may say about an end user's own account pages."""

from django.dispatch import Signal

# Sent before /account/delete deletes the signed-in ``user``. A receiver that must keep the account
# (the partner app, for a partner's last owner) returns a sentence saying why and what to do
# first; None otherwise. Consent sits below those apps and cannot ask them itself.
account_deletion_refusals = Signal()


def deletion_refusals(user) -> list[str]:
    """The sentences of every receiver that keeps the account, in the order they answered."""
    return [reason for _, reason in account_deletion_refusals.send(sender=type(user), user=user) if reason]
