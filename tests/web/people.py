"""People for the browser tests: a new clinic in the served database, and the authenticator app of a
person with a second factor.

The server runs in its own process, so its clock cannot be patched as the API tests do. The
authenticator instead uses what the server allows anyway: a code of the previous, current or next
30 s step, each step once per person. So three fresh codes (log in, approve, publish) fit in one
real step; a fourth waits for the next step.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from server.db import create_engine, create_session_factory
from server.settings import Settings
from tenants import totp
from tests.factories import PASSWORD, TOTP_KEY, make_clinic
from tests.web.harness import TOTP_KEY as SERVED_TOTP_KEY
from tests.web.harness import RunningServer

assert TOTP_KEY == SERVED_TOTP_KEY, "the served database must seal secrets with the factories' key"


@dataclass
class Person:
    email: str
    password: str
    totp_secret: str | None


@dataclass
class WebClinic:
    name: str
    people: dict[str, Person]


def make_web_clinic(
    server: RunningServer,
    roles: tuple[str, ...],
    name: str = "Lakeside Dermatology",
    second_factor: tuple[str, ...] = (),
) -> WebClinic:
    """A clinic with the demo payers and fees and one person per role, in the running server's database
    (`second_factor`: roles enrolled with an authenticator beyond those that require one)."""

    async def make() -> WebClinic:
        settings = Settings(database_url=server.database_url, data_dir=server.data_dir, totp_key=TOTP_KEY)
        engine = create_engine(settings)
        try:
            clinic = await make_clinic(create_session_factory(engine), name, roles, second_factor)
        finally:
            await engine.dispose()
        return WebClinic(
            name=name, people={role: Person(email, PASSWORD, secret) for role, (email, secret) in clinic.people.items()}
        )

    with ThreadPoolExecutor(max_workers=1) as thread:  # away from Playwright's event loop
        return thread.submit(asyncio.run, make()).result()


class Authenticator:
    """A person's authenticator app that never offers a code the server has seen from them."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.last_step: int | None = None

    def fresh_code(self) -> str:
        while True:
            now = totp.current_step()
            oldest = now - 1 if totp.STEP_SECONDS - time.time() % totp.STEP_SECONDS > 5 else now  # not stale on arrival
            step = oldest if self.last_step is None else max(self.last_step + 1, oldest)
            if step <= now + 1:
                self.last_step = step
                return totp.code_at(self.secret, step)
            time.sleep(totp.STEP_SECONDS - time.time() % totp.STEP_SECONDS + 0.05)
