"""How Django requests reach oauthlib: token requests may come as a form or as a JSON object, and
the oauthlib server that answers them gives each access token its API's lifetime."""

import json

from oauth2_provider.oauth2_backends import OAuthLibCore
from oauthlib import openid

from oauthcore.access_tokens import token_lifetime


class Server(openid.Server):
    """oauthlib's OpenID Connect server (``OAUTH2_SERVER_CLASS``), whose access tokens live as long
    as their API's ``token_lifetime`` (read from the request the validator prepared), in place of
    django-oauth-toolkit's one ``ACCESS_TOKEN_EXPIRE_SECONDS`` for every token."""

    def __init__(self, request_validator, *args, **kwargs):
        super().__init__(request_validator, *args, **{**kwargs, "token_expires_in": token_lifetime})


class FormOrJSONOAuthLibCore(OAuthLibCore):
    """Auth0 accepts ``application/json`` token requests as well as forms; so does Portcullis."""

    def extract_body(self, request):
        if request.content_type != "application/json":
            return super().extract_body(request)
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return []  # oauthlib then answers invalid_request: the parameters are missing
        if not isinstance(data, dict):
            return []
        items = []
        for key, value in data.items():
            values = value if key == "resource" and isinstance(value, list) else [value]
            for item in values:
                if isinstance(item, bool):
                    item = "true" if item else "false"
                if isinstance(item, str | int | float):
                    items.append((key, str(item)))
        return items
