"""A real SMTP server the tests start themselves (pytest plugin, loaded by tests/conftest.py).

Portcullis' email goes out over SMTP exactly as in production; this server (aiosmtpd, on
loopback) is the outside world receiving it. The ``smtp`` fixture points this process's email
settings at it and empties its inbox; the Celery worker of ``tests/celery_worker.py`` is started
with ``EMAIL_URL`` pointing at it too, so mail sent by tasks arrives here either way.
"""

import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from tests.celery_worker import wait_for


@dataclass
class SmtpServer:
    host: str
    port: int
    _messages: list[EmailMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    def receive(self, raw: bytes) -> None:
        with self._lock:
            self._messages.append(message_from_bytes(raw, policy=policy.default))

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def wait_for_messages(self, count: int = 1, timeout: float = 15) -> list[EmailMessage]:
        """At least ``count`` messages, waiting up to ``timeout`` seconds for them to arrive."""
        return wait_for(
            lambda: (messages := self.messages) and len(messages) >= count and messages,
            timeout=timeout,
            message=f"{count} email(s) expected, {len(self.messages)} received",
        )

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m.get_all("To", [])[0]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    from aiosmtpd.controller import Controller

    server = SmtpServer("127.0.0.1", _free_port())

    class Handler:
        async def handle_DATA(self, _server, _session, envelope):
            server.receive(envelope.original_content or envelope.content)
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname=server.host, port=server.port)
    controller.start()
    yield server
    controller.stop()


@pytest.fixture
def smtp(smtp_server, settings):
    """The test SMTP server, empty, with this process's email settings pointing at it."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    smtp_server.clear()
    yield smtp_server
