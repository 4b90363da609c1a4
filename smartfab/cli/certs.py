"""`smartfab certs`: TLS certificates for a first install, made with ``cryptography``.

``smartfab certs create`` writes a self-signed certificate and its private key (owner-readable
only) for the web app and API; point ``tls_cert`` and ``tls_key`` of the config file at them.
Browsers warn about a self-signed certificate until it is trusted or replaced by one from the
site's own CA, which is the better choice once there is one. The functions below also make a
small CA and certificates it issues, for brokers and tests.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from smartfab.errors import SmartfabError

app = typer.Typer(help="TLS certificates for the web app and API.", no_args_is_help=True)

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class KeyPair:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def write(self, cert_path: Path, key_path: Path) -> None:
        """The certificate (PEM) and the key (PEM, unencrypted, mode 0600) to files."""
        cert_path.parent.mkdir(parents=True, exist_ok=True)
        key_path.parent.mkdir(parents=True, exist_ok=True)
        cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        key_bytes = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Created with owner-only permissions, so the key is never readable by others, even
        # for a moment.
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key_bytes)
        os.chmod(key_path, 0o600)


def _names(hosts: tuple[str, ...] | list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _build(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: KeyPair | None,
    days: int,
    *,
    ca: bool,
    hosts: tuple[str, ...] | list[str] = (),
) -> KeyPair:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))  # tolerate a little clock skew
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(_names(hosts)), critical=False
        ).add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    signer = issuer.key if issuer else key
    return KeyPair(builder.sign(signer, hashes.SHA256()), key)


def self_signed(hosts: tuple[str, ...] | list[str] = DEFAULT_HOSTS, days: int = 825) -> KeyPair:
    """A self-signed server certificate for ``hosts`` (names and IP addresses)."""
    return _build(hosts[0], ec.generate_private_key(ec.SECP256R1()), None, days, ca=False,
                  hosts=hosts)  # fmt: skip


def certificate_authority(name: str = "smartfab local CA", days: int = 3650) -> KeyPair:
    return _build(name, ec.generate_private_key(ec.SECP256R1()), None, days, ca=True)


def issue(ca: KeyPair, hosts: tuple[str, ...] | list[str], days: int = 825) -> KeyPair:
    """A server (and client) certificate for ``hosts`` signed by ``ca``."""
    return _build(hosts[0], ec.generate_private_key(ec.SECP256R1()), ca, days, ca=False,
                  hosts=hosts)  # fmt: skip


@app.callback()
def certs() -> None:
    """TLS certificates for the web app and API."""
    # A callback keeps `create` a subcommand: typer would make a lone command the group itself.


@app.command()
def create(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for smartfab-cert.pem and smartfab-key.pem.")
    ] = Path("smartfab-data/tls"),
    host: Annotated[
        list[str] | None,
        typer.Option("--host", help="A name or IP address clients use (repeatable)."),
    ] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=3650)] = 825,
    force: Annotated[bool, typer.Option("--force", help="Replace existing files.")] = False,
) -> None:
    """Create a self-signed certificate and key for HTTPS on a first install."""
    cert_path, key_path = out / "smartfab-cert.pem", out / "smartfab-key.pem"
    existing = [p for p in (cert_path, key_path) if p.exists()]
    if existing and not force:
        raise SmartfabError(f"{existing[0]} exists; --force replaces it")
    hosts = host or list(DEFAULT_HOSTS)
    self_signed(hosts, days).write(cert_path, key_path)
    typer.echo(
        f"certificate {cert_path} (for {', '.join(hosts)}, {days} days)\n"
        f"private key {key_path} (readable by you only)\n"
        f"config: tls_cert: {cert_path}\n        tls_key: {key_path}"
    )
