"""Long computations behind the API (a CP-SAT solve, a twin experiment, a calibration) run as
jobs: the request returns an id at once, the work runs in a worker thread and the page polls the
id for progress and the result. The event loop never waits for them, so the live feed and every
other route stay responsive.

One worker thread per kind of work: a second solve started while one runs would only take cores
from it (CP-SAT already uses both), so jobs queue. One long-lived thread rather than one per job,
because each thread that reads the store keeps its own store cursor. It is a daemon thread: a
solve or an experiment under way must not hold up the server's shutdown (a pool's threads would
be joined at exit), and its result is of no use once the server is gone.
At most ``waiting`` jobs wait for the worker: one more is refused with 429 and a Retry-After,
so that a client submitting in a loop cannot fill the memory with queued work (IEC 62443-4-2
FR7). Finished jobs are kept in memory, the newest ``keep`` of them; a restart forgets them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import HTTPException

log = logging.getLogger(__name__)

# Jobs run for seconds to minutes; a client told to come back sooner would only be refused again.
_RETRY_AFTER_S = 10

JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class Cancelled(Exception):
    """Raised from a job's progress report when someone cancelled it, to end the work early."""


@dataclass
class Job:
    id: str
    kind: str
    created: float = field(default_factory=time.time)
    state: JobState = "queued"
    progress: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    cancel_requested: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    def report(self, **progress: Any) -> None:
        """Called by the work as it goes; raises Cancelled once the job was cancelled."""
        self.progress = {**self.progress, **progress}
        if self.cancel_requested:
            raise Cancelled

    def summary(self) -> dict[str, Any]:
        now = self.finished or time.time()
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "created": self.created,
            "elapsed_s": now - self.started if self.started else 0.0,
            "progress": self.progress,
            "error": self.error,
            **self.meta,
        }


class Jobs:
    def __init__(self, name: str, keep: int = 50, waiting: int = 20) -> None:
        if waiting < 1:  # queue.Queue takes 0 for "unbounded"
            raise ValueError(f"{waiting} waiting jobs: must be at least 1")
        self._name = name
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue(waiting)
        self._worker: threading.Thread | None = None
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep

    def _work(self) -> None:
        while True:
            self._queue.get()()

    def submit(
        self,
        kind: str,
        work: Callable[[Job], Any],
        meta: dict[str, Any] | None = None,
        errors: tuple[type[Exception], ...] = (),
    ) -> Job:
        """Run ``work(job)`` in the worker thread. Its return value is the job's result; an
        exception of ``errors`` (a refusal of the input, e.g. an infeasible problem) becomes the
        job's error message, anything else too, and the log gets its traceback. Raises
        HTTPException 429 when ``waiting`` jobs wait already."""
        job = Job(id=uuid.uuid4().hex[:12], kind=kind, meta=meta or {})

        def run() -> None:
            if job.cancel_requested:
                job.state, job.finished = "cancelled", time.time()
                return
            job.state, job.started = "running", time.time()
            try:
                job.result = work(job)
                job.state = "done"
            except Cancelled:
                job.state = "cancelled"
            except errors as exc:
                job.state, job.error = "failed", str(exc)
            except Exception as exc:
                job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
                log.exception("%s job %s failed", kind, job.id)
            finally:
                job.finished = time.time()

        with self._lock:
            try:
                self._queue.put_nowait(run)
            except queue.Full:
                raise HTTPException(
                    429,
                    f"{self._queue.maxsize} {self._name} jobs are waiting already: try again"
                    " once some have finished",
                    headers={"Retry-After": str(_RETRY_AFTER_S)},
                ) from None
            self._jobs[job.id] = job
            while len(self._jobs) > self._keep:
                oldest = next(iter(self._jobs.values()))
                if oldest.state in ("queued", "running"):
                    break
                self._jobs.popitem(last=False)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name=f"smartfab-{self._name}", daemon=True
                )
                self._worker.start()
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"unknown job {job_id!r}")
        return job

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job.cancel_requested = True
        return job
