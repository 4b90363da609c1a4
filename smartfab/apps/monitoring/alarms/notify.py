"""Notifications of annunciated alarms: a webhook (HTTP POST of JSON) and e-mail over SMTP.

Only activations that reach an operator (not while shelved) of at least ``min_priority`` are sent.
The alarms that one evaluation raises travel together, one POST and one e-mail per batch, so that
an alarm flood does not become a flood of messages too. Sending runs in a background task and
worker threads: a slow mail server never holds up alarm evaluation. A webhook is retried with
exponential backoff on connection errors and 5xx answers (a 4xx will not get better: it is
logged and dropped); an e-mail is tried once per batch and a failure is logged and counted.

The webhook body::

    {"alarms": [{"id": "...", "equipment": "...", "priority": "high", "state": "unacknowledged",
                 "message": "...", "value": 92.5, "ts": "2026-11-17T06:10:00.000000Z"}]}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import mimetypes
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from smartfab.apps.monitoring.alarms.lifecycle import Record
from smartfab.apps.monitoring.alarms.load import annunciated
from smartfab.apps.monitoring.alarms.rules import priority_rank
from smartfab.model.plant import Priority

log = logging.getLogger(__name__)


class NotifySettings(BaseModel):
    """Where alarm notifications go; nothing is sent without a webhook URL or an SMTP host."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_priority: Priority = "high"
    webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    webhook_retries: int = Field(default=3, ge=0, le=10)
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    retry_initial_s: float = Field(default=1.0, gt=0)
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    mail_from: str = "smartfab@localhost"
    mail_to: list[str] = Field(default_factory=list)


@dataclass
class NotifyStats:
    webhooks_sent: int = 0
    mails_sent: int = 0
    failures: int = 0
    last_error: str = ""


def _iso(us: int) -> str:
    return f"{np.datetime64(int(us), 'us')}Z"


def payload(records: Sequence[Record], messages: Mapping[str, str]) -> dict[str, object]:
    """The JSON body of a webhook for these records."""
    return {
        "alarms": [
            {
                "id": r.alarm_id,
                "equipment": r.equipment,
                "priority": r.priority,
                "state": r.state.value,
                "message": messages.get(r.alarm_id, r.alarm_id),
                "value": None if math.isnan(r.value) else r.value,
                "ts": _iso(r.ts),
            }
            for r in records
        ]
    }


class Notifier:
    """Sends what :meth:`submit` hands it, in a background task."""

    def __init__(self, settings: NotifySettings, messages: Mapping[str, str]) -> None:
        """``messages``: the text of each alarm id."""
        self.settings = settings
        self.messages = messages
        self.stats = NotifyStats()
        self._queue: asyncio.Queue[list[Record]] = asyncio.Queue(maxsize=1000)
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        s = self.settings
        return bool(s.webhook_url or (s.smtp_host and s.mail_to))

    def submit(self, records: Sequence[Record]) -> None:
        """Queue the annunciated alarms among ``records`` of at least the minimum priority."""
        floor = priority_rank(self.settings.min_priority)
        chosen = [r for r in annunciated(records) if priority_rank(r.priority) >= floor]
        if not chosen or not self.enabled:
            return
        try:
            self._queue.put_nowait(chosen)
        except asyncio.QueueFull:
            self.stats.failures += 1
            log.error("alarm notifications: queue full, %d alarm(s) not sent", len(chosen))

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="smartfab-alarm-notify")

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Send what is queued (for at most ``timeout_s``), then end."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout_s)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            records = await self._queue.get()
            try:
                await asyncio.to_thread(self.send, records)
            finally:
                self._queue.task_done()

    # --- in a worker thread ---------------------------------------------------------------------
    def send(self, records: Sequence[Record]) -> None:
        """Send ``records`` by webhook and e-mail now (blocking); failures are logged and
        counted, never raised."""
        s = self.settings
        if s.webhook_url:
            self._webhook(s.webhook_url, records)
        if s.smtp_host and s.mail_to:
            self._mail(s.smtp_host, records)

    def _fail(self, what: str, exc: BaseException) -> None:
        self.stats.failures += 1
        self.stats.last_error = f"{what}: {exc}"
        log.error("alarm notifications: %s failed: %s", what, exc)

    def _webhook(self, url: str, records: Sequence[Record]) -> None:
        s = self.settings
        body = json.dumps(payload(records, self.messages)).encode()
        delay = s.retry_initial_s
        for attempt in range(s.webhook_retries + 1):
            request = urllib.request.Request(
                url, body, {"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=s.webhook_timeout_s):
                    self.stats.webhooks_sent += 1
                    return
            except urllib.error.HTTPError as exc:
                if exc.code < 500:  # the receiver refuses this request; repeating it won't help
                    self._fail(f"webhook POST {url}", exc)
                    return
                error: Exception = exc
            except OSError as exc:  # URLError, refused connection, timeout
                error = exc
            if attempt == s.webhook_retries:
                self._fail(f"webhook POST {url} ({attempt + 1} attempts)", error)
                return
            log.warning("alarm webhook %s: %s; retrying in %.1f s", url, error, delay)
            time.sleep(delay)
            delay *= 2

    def _mail(self, host: str, records: Sequence[Record]) -> None:
        top = max(records, key=lambda r: priority_rank(r.priority))
        more = f" (+{len(records) - 1} more)" if len(records) > 1 else ""
        lines = [
            f"{_iso(r.ts)}  {r.priority:<7} {r.alarm_id}\n    {self.messages.get(r.alarm_id, '')}"
            + ("" if math.isnan(r.value) else f" (value {r.value:g})")
            for r in records
        ]
        try:
            send_mail(
                self.settings,
                self.settings.mail_to,
                f"[{top.priority}] {self.messages.get(top.alarm_id, top.alarm_id)}{more}",
                "Alarms raised by smartfab:\n\n" + "\n".join(lines) + "\n",
            )
            self.stats.mails_sent += 1
        except (smtplib.SMTPException, OSError) as exc:
            self._fail(f"e-mail via {host}:{self.settings.smtp_port}", exc)


def send_mail(
    s: NotifySettings,
    to: Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[Path] = (),
) -> None:
    """Send one e-mail through the SMTP server of ``s`` (blocking); raises SMTPException or
    OSError when it fails. Also what scheduled reports are mailed with."""
    if not s.smtp_host:
        raise OSError("no SMTP server configured (smtp_host)")
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = s.mail_from
    msg["To"] = ", ".join(to)
    msg.set_content(body)
    for path in attachments:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        main, _, sub = kind.partition("/")
        msg.add_attachment(path.read_bytes(), maintype=main, subtype=sub, filename=path.name)
    with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s) as smtp:
        if s.smtp_starttls:
            smtp.starttls()
        if s.smtp_user:
            smtp.login(s.smtp_user, s.smtp_password or "")
        smtp.send_message(msg)
