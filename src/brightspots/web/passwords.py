"""Password hashes: argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from brightspots.errors import BrightspotsError

MIN_LENGTH = 10
_HASHER = PasswordHasher()
#: verified against when the account does not exist, so both cases take the same time
_DUMMY = _HASHER.hash("not a real password, only for timing")


class PasswordError(BrightspotsError):
    """A password that may not be used."""


def check_new(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"the password needs at least {MIN_LENGTH} characters")
    if password.strip() != password:
        raise PasswordError("the password may not start or end with spaces")


def hash_password(password: str) -> str:
    check_new(password)
    return _HASHER.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: no such account; still takes the time)."""
    try:
        return _HASHER.verify(stored if stored is not None else _DUMMY, password) and (
            stored is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def rehash(password: str) -> str:
    """A fresh hash of a password that just verified (no new-password rules: it is not new)."""
    return _HASHER.hash(password)


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)
