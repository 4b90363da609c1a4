"""Notifications to a real local HTTP server and a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from smartfab.apps.monitoring.alarms.lifecycle import Action, Record, State
from smartfab.apps.monitoring.alarms.notify import Notifier, NotifySettings
from tests.apps.monitoring.smtp import smtp_server
from tests.conftest import free_port

T0 = 1_794_895_200_000_000
HOT = Record(T0, "m1/temp:high", "m1", Action.ACTIVATE, State.UNACKNOWLEDGED, True, "high", 91.5)
LOW = Record(T0, "m1/temp:rate", "m1", Action.ACTIVATE, State.UNACKNOWLEDGED, True, "low", 3.0)
MESSAGES = {"m1/temp:high": "temp high: above 80 degC"}


class _Receiver(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []  # status codes to answer, in order; then 200
    bodies: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append(json.loads(body))
        code = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"answers": [], "bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # Checked for shutdown every 0.05 s, not the default 0.5 s that each teardown waited.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_posts_json_and_retries_server_errors(
    receiver: tuple[str, type[_Receiver]],
) -> None:
    url, handler = receiver
    handler.answers = [503, 500]
    n = Notifier(NotifySettings(webhook_url=url, retry_initial_s=0.01), MESSAGES)
    n.send([HOT])
    assert len(handler.bodies) == 3  # two failures, then delivered
    alarm = handler.bodies[-1]["alarms"][0]
    assert alarm == {
        "id": "m1/temp:high", "equipment": "m1", "priority": "high", "state": "unacknowledged",
        "message": "temp high: above 80 degC", "value": 91.5, "ts": "2026-11-17T06:00:00.000000Z",
    }  # fmt: skip
    assert (n.stats.webhooks_sent, n.stats.failures) == (1, 0)


def test_webhook_gives_up_after_its_retries_and_on_client_errors(
    receiver: tuple[str, type[_Receiver]],
) -> None:
    url, handler = receiver
    handler.answers = [500, 500, 500]
    n = Notifier(NotifySettings(webhook_url=url, webhook_retries=2, retry_initial_s=0.01), {})
    n.send([HOT])
    assert (len(handler.bodies), n.stats.failures) == (3, 1)
    handler.answers = [404]
    n.send([HOT])
    assert (len(handler.bodies), n.stats.failures) == (4, 2)  # a 4xx is not retried
    down = Notifier(
        NotifySettings(webhook_url=f"http://127.0.0.1:{free_port()}/", webhook_retries=1,
                       retry_initial_s=0.01), {},
    )  # fmt: skip
    down.send([HOT])
    assert down.stats.failures == 1 and "2 attempts" in down.stats.last_error


def test_email_over_a_real_smtp_server() -> None:
    with smtp_server() as (port, inbox):
        settings = NotifySettings(
            smtp_host="127.0.0.1", smtp_port=port, mail_from="alarms@plant.example",
            mail_to=["shift-lead@plant.example", "maintenance@plant.example"],
            min_priority="medium",
        )  # fmt: skip
        n = Notifier(settings, MESSAGES)
        n.send([HOT, LOW])
    assert n.stats.mails_sent == 1
    sender, to, content = inbox.messages[0]
    assert (sender, to) == ("alarms@plant.example", settings.mail_to)
    mail = message_from_bytes(content)
    assert mail["Subject"] == "[high] temp high: above 80 degC (+1 more)"
    body = mail.get_payload()
    assert isinstance(body, str) and "m1/temp:high" in body and "value 91.5" in body


async def test_submit_filters_by_priority_and_annunciation(
    receiver: tuple[str, type[_Receiver]],
) -> None:
    url, handler = receiver
    n = Notifier(NotifySettings(webhook_url=url, min_priority="high"), MESSAGES)
    await n.start()
    shelved = Record(T0, "m1/x", "m1", Action.ACTIVATE, State.SHELVED, True, "urgent")
    cleared = Record(T0, "m1/x", "m1", Action.CLEAR, State.NORMAL, False, "urgent")
    n.submit([HOT, LOW, shelved, cleared])
    await n.stop()
    assert [[a["id"] for a in b["alarms"]] for b in handler.bodies] == [["m1/temp:high"]]
