"""Application instance certificates for OPC UA security tests, made with asyncua's own crypto
helpers, and the trust lists (folders) of each side."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from asyncua.crypto.cert_gen import setup_self_signed_certificate
from cryptography.x509.oid import ExtendedKeyUsageOID


@dataclass(frozen=True)
class Pki:
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_trusts: Path  # the client's trust list: the server's certificate
    server_trusts: Path  # the server's trust list: the client's certificate


async def make_pki(folder: Path, name: str = "smartfab") -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, tuple[Path, Path]] = {}
    for role, use in (
        ("server", ExtendedKeyUsageOID.SERVER_AUTH),
        ("client", ExtendedKeyUsageOID.CLIENT_AUTH),
    ):
        key, cert = folder / f"{name}-{role}-key.pem", folder / f"{name}-{role}-cert.der"
        subject = {"commonName": f"{name} {role}"}
        uri = f"urn:{name}:test:{role}"
        await setup_self_signed_certificate(key, cert, uri, "localhost", [use], subject)
        paths[role] = cert, key
    client_trusts = folder / f"{name}-client-trusts"
    server_trusts = folder / f"{name}-server-trusts"
    for trusts, role in ((client_trusts, "server"), (server_trusts, "client")):
        trusts.mkdir(exist_ok=True)
        shutil.copy(paths[role][0], trusts)
    return Pki(*paths["server"], *paths["client"], client_trusts, server_trusts)
