"""Background jobs: a bounded queue. Jobs beyond ``waiting`` are refused with 429 and nothing of
them is kept; those accepted all run. Through the API: the twin's experiments, a real job."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.web.api import create_app
from smartfab.web.jobs import Job, Jobs


def wait_until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_jobs_beyond_the_waiting_limit_are_refused_and_the_others_all_run() -> None:
    jobs = Jobs("test", waiting=3)
    release = threading.Event()

    def blocked(job: Job) -> str:
        release.wait(30)
        return job.id

    running = jobs.submit("block", blocked)
    wait_until(lambda: running.state == "running")
    queued = [jobs.submit("block", blocked) for _ in range(3)]
    for _ in range(100):  # a client submitting in a loop
        with pytest.raises(HTTPException) as refused:
            jobs.submit("block", blocked)
        assert refused.value.status_code == 429
    assert "3 test jobs are waiting already: try again" in refused.value.detail
    assert refused.value.headers == {"Retry-After": "10"}
    assert [j.state for j in jobs.all()] == ["running", "queued", "queued", "queued"]

    release.set()
    wait_until(lambda: all(j.state == "done" for j in jobs.all()))
    assert [j.result for j in jobs.all()] == [j.id for j in (running, *queued)]
    assert jobs.submit("block", blocked).state in ("queued", "running", "done")  # room again
    with pytest.raises(ValueError, match="at least 1"):
        Jobs("test", waiting=0)


def test_a_full_queue_of_experiments_answers_429(
    filled_store: Path,
    demo_plant: Plant,
    security: Security,
    admin_headers: dict[str, str],
    tmp_path: Path,
) -> None:
    shutil.copy(filled_store, tmp_path / "s.duckdb")  # the other tests' store stays theirs
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        client = TestClient(create_app(PlantData(store, demo_plant), security=security),
                            headers=admin_headers)  # fmt: skip
        change = {"kind": "cycle_time", "station": "cnc-01", "factor": 0.9}
        long = {"line": "shenyang/machining/cnc-line-1",
                "scenarios": [{"name": "a", "changes": [change]}],
                "horizon_days": 120, "warmup_days": 1, "replications": 20}  # fmt: skip

        def submit() -> str:
            r = client.post("/api/twin/experiments", json=long)
            assert r.status_code == 202, r.text
            return str(r.json()["id"])

        def state(job_id: str) -> str:
            return str(client.get(f"/api/twin/jobs/{job_id}").json()["state"])

        ids = [submit()]
        wait_until(lambda: state(ids[0]) == "running")
        ids += [submit() for _ in range(20)]  # the default number of waiting jobs
        r = client.post("/api/twin/experiments", json=long)
        assert r.status_code == 429
        assert r.json()["detail"] == (
            "20 twin jobs are waiting already: try again once some have finished"
        )
        assert r.headers["Retry-After"] == "10"
        assert [state(i) for i in ids] == ["running"] + ["queued"] * 20
        for job_id in ids:
            assert client.delete(f"/api/twin/jobs/{job_id}").status_code == 200
        wait_until(lambda: all(state(i) == "cancelled" for i in ids))
