"""Time-based one-time passwords (RFC 6238, SHA-1, 6 digits, 30 s) through pyotp, for owners and reviewers.

pyotp computes the codes; what it leaves to us is which step matched, so that a code works
only once (`last_used_step`), and one step of clock drift either way.
"""

from __future__ import annotations

import time

import pyotp

STEP_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    return pyotp.random_base32(32)


def code_at(secret: str, step: int) -> str:
    """The code for one time step.

    RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T = 59 s -> 94287082 (8 digits):

    >>> import base64
    >>> secret = base64.b32encode(b"12345678901234567890").decode()
    >>> code_at(secret, 59 // 30)
    '287082'
    """
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def verify(secret: str, code: str, *, now: float | None = None, last_used_step: int | None = None) -> int | None:
    """The matching time step (one step of clock drift allowed), or None; a code works only once."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    generator = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    step = current_step(now)
    for candidate in (step, step - 1, step + 1):
        if last_used_step is not None and candidate <= last_used_step:
            continue
        if pyotp.utils.strings_equal(generator.generate_otp(candidate), code):
            return candidate
    return None


def provisioning_uri(secret: str, email: str, issuer: str = "cutis") -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=email, issuer_name=issuer)
