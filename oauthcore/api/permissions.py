"""Each endpoint requires its scope, e.g. ``read:clients``."""

from rest_framework.permissions import BasePermission


class HasRequiredScope(BasePermission):
    """Reads ``required_scopes`` from the view: ``{action: scope or (scopes...)}`` (any of them suffices)."""

    message = "Insufficient scope"

    def has_permission(self, request, view):
        token = request.auth
        if token is None:
            return False
        required = view.required_scopes_for(request)
        if not required:
            return True
        granted = set((token.scope or "").split())
        if granted & set(required):
            return True
        self.message = f"Insufficient scope, expected any of: {','.join(required)}"
        return False
