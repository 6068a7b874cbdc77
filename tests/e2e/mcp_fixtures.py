"""An MCP server protected by ``oauthcore.protect`` and an MCP client, both from the official MCP SDK.

The server is what a customer deploys: an ASGI app made by the SDK's ``MCPServer`` (one tool),
behind ``ProtectedASGIApp``, served by uvicorn on a loopback port. The client runs the SDK's
``OAuthClientProvider`` in a thread of its own (the SDK is async, Playwright's API here is not):
when it needs the user, it hands the authorization URL to the test, which drives Chromium and
hands back the callback's parameters.
"""

import asyncio
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx2
import uvicorn
from mcp.client import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from oauthcore.protect import ProtectedResource
from oauthcore.protect.asgi import ProtectedASGIApp

TOOL_SCOPE = "mcp:tools"


@dataclass
class RunningServer:
    resource: ProtectedResource
    server: uvicorn.Server
    thread: threading.Thread
    seen_subjects: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.resource.resource

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_mcp_server(issuer: str) -> RunningServer:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    resource = ProtectedResource(
        resource=f"http://127.0.0.1:{port}/mcp",
        issuer=issuer,
        scopes_supported=(TOOL_SCOPE,),
        resource_name="Echo MCP server",
    )
    seen: list[str] = []
    mcp = MCPServer(name="echo")

    @mcp.tool()
    def echo(text: str) -> str:
        """Say it back."""
        return f"echo: {text}"

    inner = mcp.streamable_http_app(stateless_http=True, json_response=True)

    async def recording(scope, receive, send):  # who the verified tokens act for, as the server saw them
        if "portcullis.token" in scope:
            seen.append(scope["portcullis.token"].subject)
        await inner(scope, receive, send)

    app = ProtectedASGIApp(recording, resource, required_scopes=[TOOL_SCOPE])
    # The SDK's app runs its session manager in the lifespan; recording passes lifespan events on.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("The MCP server did not start.")
        time.sleep(0.05)
    return RunningServer(resource, server, thread, seen)


class MemoryStorage:
    def __init__(self):
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


class UserGaveUp(Exception):
    """The browser never reached the client's callback (the user saw an error page)."""


@dataclass
class McpClientRun:
    """An MCP client session in its own thread: connect, authorize through the user, call ``echo``."""

    server_url: str
    callback: str
    storage: MemoryStorage = field(default_factory=MemoryStorage)
    authorization_urls: queue.Queue = field(default_factory=queue.Queue)
    callbacks: queue.Queue = field(default_factory=queue.Queue)
    result: object = None
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> "McpClientRun":
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def next_authorization_url(self, timeout: float = 30) -> str:
        url = self.authorization_urls.get(timeout=timeout)
        if isinstance(url, BaseException):
            raise AssertionError(f"The MCP client failed before asking the user: {url!r}") from url
        return url

    def complete(self, callback_url: str | None) -> None:
        """Hand the client what its redirect URI received (None: the user never got there)."""
        self.callbacks.put(callback_url)

    def join(self, timeout: float = 60) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the MCP client did not finish"

    def _run(self) -> None:
        try:
            self.result = asyncio.run(self._session())
        except BaseException as exc:  # reported to the test thread
            self.error = exc
            self.authorization_urls.put(exc)

    async def _session(self):
        async def redirect_handler(url: str) -> None:
            self.authorization_urls.put(url)

        async def callback_handler() -> AuthorizationCodeResult:
            url = await asyncio.to_thread(self.callbacks.get, True, 120)
            if url is None:
                raise UserGaveUp("no authorization code came back")
            params = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
            return AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))

        provider = OAuthClientProvider(
            server_url=self.server_url,
            client_metadata=OAuthClientMetadata(
                client_name="Agent under test",
                redirect_uris=[self.callback],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
            ),
            storage=self.storage,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
        )
        async with (
            httpx2.AsyncClient(auth=provider, timeout=30) as http,
            Client(streamable_http_client(self.server_url, http_client=http)) as client,
        ):
            return await client.call_tool("echo", {"text": "hello from the agent"})
