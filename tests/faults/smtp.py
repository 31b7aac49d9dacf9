"""A local SMTP server for fault-injection tests (aiosmtpd), run in the test's process.

It keeps every message it accepts. Stopped, nothing listens on its port, so a worker
trying to send meets "connection refused", as with a mail server that is down; started
again, it listens on the same port. `hold_replies` makes it take a message (it is kept)
and then wait that many seconds before answering "250": a slow server, or a sender
killed between the DATA and the answer.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller

from tests.waiting import free_port, port_open, wait_until


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[Message] = []
        self.hold_replies = 0.0
        self.received = threading.Event()
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    # aiosmtpd's handler hook, on the server's own thread.
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content or envelope.content)  # type: ignore[attr-defined]
        with self._lock:
            self.messages.append(message)
        self.received.set()
        if self.hold_replies:
            await asyncio.sleep(self.hold_replies)
        return "250 Message accepted for delivery"

    @property
    def listening(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        assert wait_until(lambda: port_open(self.port), timeout=10)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def message_ids(self) -> Counter[str]:
        with self._lock:
            return Counter(message["Message-ID"] for message in self.messages)

    def count(self) -> int:
        with self._lock:
            return len(self.messages)

    def copy(self) -> list[Message]:
        with self._lock:
            return list(self.messages)
