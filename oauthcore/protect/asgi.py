"""Any ASGI application (an MCP server built with the MCP SDK, Starlette, FastAPI) behind Portcullis.

    app = ProtectedASGIApp(mcp_app, resource, required_scopes=["mcp:tools"])

Serves the RFC 9728 metadata document at ``resource.metadata_path`` and lets a request through
only with a valid token; the verified token is in ``scope["portcullis.token"]``.
"""

import asyncio
import json

from oauthcore.protect.core import ProtectedResource, TokenError, TokenVerifier, bearer_token


class ProtectedASGIApp:
    def __init__(self, app, resource: ProtectedResource, *, required_scopes=(), verifier: TokenVerifier | None = None):
        self.app = app
        self.resource = resource
        self.required_scopes = tuple(required_scopes)
        self.verifier = verifier or TokenVerifier(resource)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == self.resource.metadata_path and scope["method"] in {"GET", "HEAD"}:
            headers = [(b"access-control-allow-origin", b"*"), (b"cache-control", b"public, max-age=3600")]
            await _json(send, 200, self.resource.metadata(), headers)
            return
        authorization = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        try:
            # The first request (and a key rotation) fetches the JWKS: not on the event loop.
            token = await asyncio.to_thread(self.verifier.verify, bearer_token(authorization), self.required_scopes)
        except TokenError as failure:
            challenge = self.resource.challenge(failure).encode("latin-1")
            headers = [(b"www-authenticate", challenge), (b"cache-control", b"no-store")]
            await _json(send, failure.status, self.resource.error_body(failure), headers)
            return
        await self.app({**scope, "portcullis.token": token}, receive, send)


async def _json(send, status: int, body: dict, headers) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
