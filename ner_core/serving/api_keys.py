"""API keys: created once and shown once, stored as a scrypt hash, checked on every request.

A key looks like ``nerk_<prefix>_<secret>``: the 8-hex-digit prefix is public and finds the row
(``api_keys.prefix``), the 32 random bytes of the secret are what proves the caller. Only a
scrypt hash of the whole key is stored (``scrypt$n$r$p$salt$hash``), so a copy of the database
does not hand out working keys.

scrypt costs tens of milliseconds on purpose, which no API can pay per request. The server's
:class:`KeyRing` therefore verifies a presented key once with scrypt and then remembers it (by
its SHA-256, in memory only) until the key is revoked; it reloads the active keys from the
database every few seconds, so ``api-key revoke`` in another process takes effect without a
restart. Unknown prefixes and wrong secrets cost the same scrypt as a right one and get the same
answer, so neither the message nor the timing says which keys exist.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ner_core.errors import ApiKeyError, AuthenticationError
from ner_core.store.database import Store
from ner_core.store.tables import ApiKey, utcnow

KEY_PREFIX = "nerk"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
# scrypt at n=2**14, r=8 (16 MB, ~30-60 ms here): the interactive-login cost Python's docs and RFC 7914 suggest.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
INVALID_KEY_MESSAGE = (
    "missing or invalid API key; send `Authorization: Bearer <key>` with a key from `python -m ner_core api-key create`."
)
# Remembered verified keys per process; a client sending new random keys cannot grow it past this.
MAX_REMEMBERED = 10_000


@dataclass(frozen=True)
class KeyInfo:
    """What ``api-key list`` shows: never the key or its hash."""

    name: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(key: str, *, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(key.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def key_matches(key: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hash_key(key, salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(computed.rsplit("$", 1)[1], expected)


def _bearer(authorization: str | None) -> str | None:
    scheme, _, key = (authorization or "").partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def _prefix_of(key: str) -> str | None:
    parts = key.split("_", 2)  # the secret itself may hold "_" (URL-safe base64)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not re.fullmatch(r"[0-9a-f]{8}", parts[1]) or not parts[2]:
        return None
    return parts[1]


# --------------------------------------------------------------------------- commands


def create(store: Store, name: str) -> str:
    """Store a new key under ``name`` and return it; this is the only time anyone sees it."""
    if not NAME_PATTERN.match(name or ""):
        raise ApiKeyError(f"key name {name!r} must be 1-64 letters, digits or _.@- and start with a letter or digit.")
    while True:
        prefix = secrets.token_hex(4)
        key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        if store.write(functools.partial(_insert_key, name=name, prefix=prefix, key_hash=hash_key(key))):
            return key


def _insert_key(session: Session, *, name: str, prefix: str, key_hash: str) -> bool:
    existing = session.scalar(sa.select(ApiKey).where(ApiKey.name == name))
    if existing is not None:
        # A revoked key keeps its name, so a name in the prediction log always means one key.
        state = "a revoked key keeps its name" if existing.revoked_at else "it is in use"
        raise ApiKeyError(f"a key named {name!r} already exists ({state}); choose another name.")
    if session.scalar(sa.select(ApiKey).where(ApiKey.prefix == prefix)) is not None:
        return False  # 1 in 4 billion: draw another prefix
    session.add(ApiKey(name=name, prefix=prefix, key_hash=key_hash))
    return True


def list_keys(store: Store) -> list[KeyInfo]:
    with store.session() as session:
        rows = session.scalars(sa.select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))
        return [KeyInfo(row.name, row.prefix, row.created_at, row.revoked_at) for row in rows]


def revoke(store: Store, name: str) -> KeyInfo:
    """Revoke the key called ``name``; it stays listed (revoked) so the log's key names keep their meaning."""

    def work(session: Session) -> KeyInfo:
        row = session.scalar(sa.select(ApiKey).where(ApiKey.name == name))
        if row is None:
            raise ApiKeyError(f"no key named {name!r}; `python -m ner_core api-key list` shows the keys.")
        if row.revoked_at is not None:
            raise ApiKeyError(f"the key {name!r} was already revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC.")
        row.revoked_at = utcnow()
        return KeyInfo(row.name, row.prefix, row.created_at, row.revoked_at)

    return store.write(work)


# --------------------------------------------------------------------------- the server's side


class KeyRing:
    """The active keys of one server process, checked without a database read per request."""

    def __init__(self, store: Store):
        self._store = store
        self._lock = threading.Lock()
        self._active: dict[str, tuple[str, str]] = {}  # prefix -> (name, stored hash)
        self._remembered: dict[bytes, tuple[str, str]] = {}  # sha256(key) -> (prefix, name)
        self._dummy_hash = hash_key(secrets.token_urlsafe(16))
        self.refresh()

    def refresh(self) -> None:
        """Reload the active keys; forget verified keys that were revoked since."""
        with self._store.session() as session:
            rows = session.execute(sa.select(ApiKey.prefix, ApiKey.name, ApiKey.key_hash).where(ApiKey.revoked_at.is_(None)))
            active = {prefix: (name, key_hash) for prefix, name, key_hash in rows}
        with self._lock:
            self._active = active
            self._remembered = {
                digest: (prefix, name)
                for digest, (prefix, name) in self._remembered.items()
                if active.get(prefix, ("",))[0] == name
            }

    def __len__(self) -> int:
        return len(self._active)

    def remembered(self, authorization: str | None) -> str | None:
        """The name of an already verified, still active key (a dictionary lookup); None means call :meth:`verify`."""
        key = _bearer(authorization)
        if key is None:
            return None
        found = self._remembered.get(hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest())
        return found[1] if found is not None else None

    def verify(self, authorization: str | None) -> str:
        """The key's name for an ``Authorization: Bearer <key>`` header; :class:`AuthenticationError` otherwise.

        A first sight of a key costs one scrypt (tens of ms, the GIL released): call it off the event loop.
        """
        key = _bearer(authorization)
        if key is None:
            raise AuthenticationError(INVALID_KEY_MESSAGE)
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        remembered = self._remembered.get(digest)
        if remembered is not None:
            return remembered[1]
        prefix = _prefix_of(key)
        entry = self._active.get(prefix) if prefix else None
        if entry is None:
            key_matches(key, self._dummy_hash)  # the same cost as a real check: timing says nothing
            raise AuthenticationError(INVALID_KEY_MESSAGE)
        name, stored = entry
        if not key_matches(key, stored):
            raise AuthenticationError(INVALID_KEY_MESSAGE)
        with self._lock:
            if self._active.get(prefix, ("",))[0] == name:  # not revoked while scrypt ran
                if len(self._remembered) >= MAX_REMEMBERED:
                    self._remembered.clear()
                self._remembered[digest] = (prefix, name)
        return name
