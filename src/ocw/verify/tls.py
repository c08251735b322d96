"""The TLS handshake a browser makes: the served certificate must chain to a trusted CA and cover the hostname."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TlsResult:
    ok: bool
    detail: str  # on success: subject names, issuer, expiry; on failure: what the handshake said
    names: tuple[str, ...] = ()


def _flatten(rdns: Any) -> dict[str, str]:
    return {key: value for rdn in rdns or () for key, value in rdn}


def handshake(hostname: str, address: tuple[str, int], context: ssl.SSLContext, timeout: float) -> TlsResult:
    """Connect to `address`, send `hostname` as SNI and verify the certificate against it."""
    try:
        with (
            socket.create_connection(address, timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=hostname) as tls,
        ):
            cert = tls.getpeercert() or {}
            version = tls.version() or "TLS"
    except ssl.SSLCertVerificationError as exc:
        return TlsResult(False, f"certificate rejected: {exc.verify_message or exc.reason or exc}")
    except ssl.SSLError as exc:
        return TlsResult(False, f"TLS handshake failed: {exc.reason or exc}")
    except TimeoutError:
        return TlsResult(False, f"no TLS answer from {address[0]}:{address[1]} within {timeout:g} s")
    except OSError as exc:
        return TlsResult(False, f"could not connect to {address[0]}:{address[1]}: {exc.strerror or exc}")
    alt_names: Any = cert.get("subjectAltName", ())
    names = tuple(str(value) for kind, value in alt_names if kind == "DNS")
    issuer = _flatten(cert.get("issuer")).get("commonName") or _flatten(cert.get("issuer")).get("organizationName", "?")
    return TlsResult(
        True,
        f"{version}; certificate for {', '.join(names) or '?'} issued by {issuer}, valid until {cert.get('notAfter')}",
        names,
    )
