"""Reading OPC UA application instance certificates: the client and the virtual server both
need the application URI a certificate names, which must equal the application's own URI
(OPC UA Part 4, 5.4.1)."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509


def load_certificate(path: Path) -> x509.Certificate:
    """A certificate from a PEM or DER file."""
    data = path.read_bytes()
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def application_uri(cert: x509.Certificate) -> str | None:
    """The first URI among the certificate's subject alternative names, if it has one."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None
