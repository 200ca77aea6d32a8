"""Password hashing with Argon2id (argon2-cffi's defaults: RFC 9106 low-memory profile)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 12


class WeakPassword(ValueError):
    pass


_CHEAP = False


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    if _CHEAP:
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def use_cheap_hashing_for_tests() -> None:
    """Argon2id still, at a test suite's cost (hashes made so verify under any parameters)."""
    global _CHEAP
    _CHEAP = True
    _hasher.cache_clear()


def check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password or len(set(password)) < 5:
        raise WeakPassword("a password needs more variety (and no leading or trailing spaces)")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# Compared against when the email is unknown, so that an unknown email costs the same time
# as a wrong password (no user enumeration by timing).
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$p+G257jj56TEImdri07Qvw$9rcwlO5g08zxRdyItwRn+DMh1e1qM/HLE0h8nFEBVMM"
