"""Serve the API with uvicorn inside the caller's event loop, so that ingestion and the API share
one process and one orderly shutdown (the caller handles signals, not uvicorn)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI

from smartfab.errors import SmartfabError


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The caller owns SIGINT/SIGTERM: it must flush ingestion before anything stops.
        yield


class ApiServer:
    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        try:
            self._socket = socket.create_server((host, port), reuse_port=False)
        except OSError as exc:
            raise SmartfabError(
                f"cannot listen on {host}:{port}: {exc.strerror}; choose another with --port"
            ) from exc
        self.host, self.port = host, self._socket.getsockname()[1]
        self._app = app
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=5,  # a browser holding a connection must not block exit
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._task.done():
                await self._task
                raise SmartfabError(f"the API did not start on {self.url}")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        # Server-sent event streams never end by themselves; uvicorn would wait for them.
        live = getattr(self._app.state, "live", None)
        if live is not None:
            await live.close()
        self._server.should_exit = True
        if self._task is not None:
            await self._task
