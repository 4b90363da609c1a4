"""Serve the API with uvicorn inside the caller's event loop, so that ingestion and the API share
one process and one orderly shutdown (the caller handles signals, not uvicorn).

With a certificate and key (settings ``tls_cert`` and ``tls_key``; ``smartfab certs create``
makes a self-signed pair) it serves HTTPS only (with OpenSSL's defaults: TLS 1.2 or newer), so
that passwords, session cookies and tokens never cross the network in clear."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Generator
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from smartfab.errors import SmartfabError


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The caller owns SIGINT/SIGTERM: it must flush ingestion before anything stops.
        yield


class ApiServer:
    def __init__(
        self,
        app: FastAPI,
        host: str,
        port: int,
        *,
        cert: Path | None = None,
        key: Path | None = None,
    ) -> None:
        self.tls = _usable_tls(cert, key)
        try:
            self._socket = socket.create_server((host, port), reuse_port=False)
        except OSError as exc:
            raise SmartfabError(
                f"cannot listen on {host}:{port}: {exc.strerror}; choose another with --port"
            ) from exc
        # Accepted connections inherit it. asyncio sets TCP_NODELAY only on IPPROTO_TCP sockets,
        # which create_server's are not: Nagle's algorithm then held each response's body until
        # the client's delayed ACK of its headers (40 ms a response).
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.host, self.port = host, self._socket.getsockname()[1]
        self._app = app
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=5,  # a browser holding a connection must not block exit
            ssl_certfile=str(cert) if self.tls else None,
            ssl_keyfile=str(key) if self.tls else None,
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

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


def _usable_tls(cert: Path | None, key: Path | None) -> bool:
    """Whether to serve HTTPS: ``cert`` and ``key`` given and usable together, checked now so that
    a wrong path or a key of another certificate is a clear error at start, not a failed handshake
    for every client later."""
    if cert is None and key is None:
        return False
    if cert is None or key is None:
        raise SmartfabError("HTTPS needs both tls_cert and tls_key (smartfab certs create)")
    missing = [p for p in (cert, key) if not p.is_file()]
    if missing:
        raise SmartfabError(f"HTTPS: {missing[0]}: no such file")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise SmartfabError(f"HTTPS: cannot use certificate {cert} with key {key}: {exc}") from exc
    return True
