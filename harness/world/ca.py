"""The run's certificate authority: the world's server mints its certificates from it, and the machines and pods
trust it as their real counterparts trust the public CAs. Made once per process, never written outside the
containers that need it."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness import PROJECT


@dataclass(frozen=True)
class CertificateAuthority:
    cert_pem: bytes
    key_pem: bytes


def new_authority(run_id: str) -> CertificateAuthority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{PROJECT} world CA {run_id}"[:64])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return CertificateAuthority(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def subject_hash(cert_pem: bytes) -> str:
    """OpenSSL's name for the certificate in a hashed directory (``openssl x509 -subject_hash``): what Python's
    ssl and OpenSSL's own tools look up in /etc/ssl/certs. SHA-1 of the subject's canonical encoding (each value as
    UTF8String, lower-case, spaces collapsed; the RDNs without the outer SEQUENCE), its first 4 bytes little-endian.
    For the names this CA has: plain attributes, one per RDN or several."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    canonical = b""
    for rdn in cert.subject.rdns:
        entries = []
        for attribute in rdn:
            value = attribute.value if isinstance(attribute.value, str) else attribute.value.decode()
            text = " ".join(value.split()).lower().encode()
            oid = _der(0x06, _oid(attribute.oid.dotted_string))
            entries.append(_der(0x30, oid + _der(0x0C, text)))
        canonical += _der(0x31, b"".join(sorted(entries)))
    digest = hashlib.sha1(canonical).digest()
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    encoded = bytes([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        encoded += bytes(reversed(chunk))
    return encoded
