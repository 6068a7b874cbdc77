"""How Django requests reach oauthlib: token requests may come as a form or as a JSON object."""

import json

from oauth2_provider.oauth2_backends import OAuthLibCore


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
