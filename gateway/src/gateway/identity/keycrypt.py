"""Secrets the gateway keeps at rest, encrypted: token-signing private keys and replayable
answers that hold a secret (a created API client's, a webhook subscription's).

The key comes from `GATEWAY_KEY_ENCRYPTION_KEY` (from the environment or a secret store mounted
into it): a Fernet key (AES-128-CBC with HMAC-SHA256, authenticated, from the `cryptography`
package the gateway already uses for ES256), or several separated by commas — the first encrypts,
any decrypts, so a key is rotated by putting the new one first and restarting every replica.
`./scrutiny up` generates one into its data folder (mode 0600) on first start.

Encrypted values are stored as `fernet:<token>`, so a plaintext value (written before a key was
configured) is told apart: the gateway's lifespan rewrites those encrypted once a key is given,
refuses to start when encrypted values exist and no key is given, and refuses to start when the
key given does not decrypt them (a wrong key must not lead to a fresh signing key that
silently orphans every token in circulation).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"


@functools.lru_cache(maxsize=8)
def parse_cipher(value: str) -> KeyCipher:
    """`KeyCipher.parse`, once per setting's value (every token minted asks for it)."""
    return KeyCipher.parse(value)


class KeyEncryptionError(RuntimeError):
    """The stored secrets cannot be read with the key given (or with none)."""


def generate_key() -> str:
    """A new key for `GATEWAY_KEY_ENCRYPTION_KEY`."""
    return Fernet.generate_key().decode()


def is_encrypted(stored: str) -> bool:
    """Whether a stored value was written encrypted."""
    return stored.startswith(PREFIX)


@dataclass(frozen=True)
class KeyCipher:
    """Encrypts and decrypts the gateway's stored secrets; without keys it passes them through
    (and says so once at start)."""

    keys: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: str) -> KeyCipher:
        """From the setting's text: keys separated by commas (none: no encryption)."""
        keys = tuple(k.strip() for k in value.split(",") if k.strip())
        for k in keys:
            try:
                Fernet(k)
            except ValueError as exc:
                raise KeyEncryptionError(
                    "GATEWAY_KEY_ENCRYPTION_KEY must be Fernet keys (32 bytes, url-safe base64), "
                    "separated by commas; generate one with "
                    '`python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())"`.'
                ) from exc
        return cls(keys)

    @property
    def enabled(self) -> bool:
        """Whether a key is configured."""
        return bool(self.keys)

    def _fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(k) for k in self.keys])

    def seal(self, plaintext: str) -> str:
        """The value to store (unchanged when no key is configured)."""
        if not self.keys:
            return plaintext
        return PREFIX + self._fernet().encrypt(plaintext.encode()).decode()

    def open(self, stored: str) -> str:
        """The plaintext of a stored value; `KeyEncryptionError` when it cannot be read."""
        if not is_encrypted(stored):
            return stored
        if not self.keys:
            raise KeyEncryptionError(
                "The gateway's signing keys are stored encrypted, and no "
                "GATEWAY_KEY_ENCRYPTION_KEY is given: set it to the key they were encrypted with."
            )
        try:
            return self._fernet().decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise KeyEncryptionError(
                "GATEWAY_KEY_ENCRYPTION_KEY does not decrypt the gateway's stored secrets: it is "
                "not the key they were encrypted with (when rotating, list the old key after the "
                "new one)."
            ) from None
