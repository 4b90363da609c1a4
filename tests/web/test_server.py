"""The API server over HTTPS: a real TLS handshake on a real socket, verified against the
certificate `smartfab certs create` makes; bad certificate settings are refused at start."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from smartfab.cli.certs import app as certs_app
from smartfab.cli.certs import self_signed
from smartfab.errors import SmartfabError
from smartfab.web.server import ApiServer


def tiny_app() -> FastAPI:
    app = FastAPI()

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "over TLS"}

    return app


def test_certs_create_writes_a_certificate_and_a_private_key(tmp_path: Path) -> None:
    result = CliRunner().invoke(certs_app, ["create", "--out", str(tmp_path), "--host", "plant1"])
    assert result.exit_code == 0, result.output
    cert, key = tmp_path / "smartfab-cert.pem", tmp_path / "smartfab-key.pem"
    assert cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600  # the key is the owner's only
    again = CliRunner().invoke(certs_app, ["create", "--out", str(tmp_path)])
    assert again.exit_code != 0 and "exists; --force replaces it" in str(again.exception)


async def test_serves_https_that_a_client_verifies(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    self_signed().write(cert, key)
    server = ApiServer(tiny_app(), "127.0.0.1", 0, cert=cert, key=key)
    await server.start()
    try:
        assert server.url.startswith("https://127.0.0.1:")
        trusting = ssl.create_default_context(cafile=cert)
        async with httpx.AsyncClient(verify=trusting) as client:
            answer = await client.get(f"{server.url}/hello")
        assert answer.json() == {"hello": "over TLS"}
        # A client that does not trust the certificate refuses the connection ...
        async with httpx.AsyncClient() as client:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get(f"{server.url}/hello")
        # ... and plain HTTP gets no answer from the API.
        async with httpx.AsyncClient() as client:
            with pytest.raises(httpx.HTTPError):
                await client.get(server.url.replace("https", "http") + "/hello")
    finally:
        await server.stop()


def test_unusable_certificate_settings_are_refused_at_start(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    self_signed().write(cert, key)
    other_key = tmp_path / "other-key.pem"
    self_signed().write(tmp_path / "other-cert.pem", other_key)
    with pytest.raises(SmartfabError, match="needs both tls_cert and tls_key"):
        ApiServer(tiny_app(), "127.0.0.1", 0, cert=cert)
    with pytest.raises(SmartfabError, match=r"missing\.pem: no such file"):
        ApiServer(tiny_app(), "127.0.0.1", 0, cert=tmp_path / "missing.pem", key=key)
    with pytest.raises(SmartfabError, match="cannot use certificate"):
        ApiServer(tiny_app(), "127.0.0.1", 0, cert=cert, key=other_key)
