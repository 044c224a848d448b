"""Whether a text holds one of the run's secret values, as a whole, in any form a deployer may have written it
(as is, base64, URL- or JSON-escaped, a cron line's). Which values count: those handed out under a key whose name
says it is secret (a password, token, secret, private key, credential, ...) and those handed out under no key
(the run's SSH key). A Secret's other values (a user name, a host) and public material (SSH public keys,
certificates) are left out, and so are values under :data:`SHORTEST` characters: they would be found everywhere.
Lines of a multi-line value are not looked for one by one (the masker hides them; a finding needs the value)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from harness.state.diff import masker, written_forms

SHORTEST = 6
SECRET_KEY = re.compile(
    r"pass|pwd|token|secret|private|credential|auth|api.?key|access.?key|(^|[_.-])key$|^key|^id_(rsa|ed25519|ecdsa|dsa)"
    r"|\.pem$|cookie|session|salt|signature|webhook|dsn|license",
    re.IGNORECASE,
)
_PUBLIC_KEY = re.compile(r"^(?:\S+\s+)?(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-\S+|sk-\S+)\s+AAAA[0-9A-Za-z+/=]+", re.M)
_CERTIFICATE = re.compile(r"^\s*(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\s*)+$", re.S)


class SecretFinder:
    def __init__(self, values: Iterable[str], keys: Mapping[str, str] | None = None) -> None:
        named = keys or {}
        self.values = [
            value
            for value in values
            if len(value.strip()) >= SHORTEST and not _public(value) and _secret_key(named.get(value))
        ]
        self._forms = sorted(
            {
                form
                for v in self.values
                for form in written_forms(v) | written_forms(v.strip())
                if len(form.strip()) >= SHORTEST
            },
            key=len,
            reverse=True,
        )
        self._mask = masker(self.values)

    def holds(self, text: str) -> bool:
        return any(form in text for form in self._forms)

    def mask(self, text: str) -> str:
        return self._mask(text)


def _secret_key(key: str | None) -> bool:
    return key is None or bool(SECRET_KEY.search(key))


def _public(value: str) -> bool:
    """A public key (or a known_hosts file of them), or certificates: handed out, but not secret."""
    if _CERTIFICATE.match(value):
        return True
    lines = [line for line in value.strip().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return bool(lines) and all(_PUBLIC_KEY.match(line.strip()) for line in lines)
