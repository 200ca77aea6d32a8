"""`codeSets`: which code-set releases this deployment has loaded and what to load next."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from rulebooks.codeset_status import CodesetRelease, CodesetStatus
from server import codesets
from server.api.common import require
from tenants.roles import Permission


@strawberry.type(description="One loaded release of a code set and the dates of service it is the release for.")
class CodeSetRelease:
    kind: str
    name: str
    first_date: dt.date | None = strawberry.field(description="Null for the built-in set.")
    last_date: dt.date | None = strawberry.field(description="Null: until a newer release.")

    @staticmethod
    def of(release: CodesetRelease) -> CodeSetRelease:
        return CodeSetRelease(
            kind=release.kind, name=release.name, first_date=release.first_date, last_date=release.last_date
        )


@strawberry.type(
    description="A code set on a date of service: the release in use, and what to load when it is not current."
)
class CodeSetStatus:
    kind: str
    in_use: str
    current: bool
    load_next: str | None
    releases: list[CodeSetRelease]

    @staticmethod
    def of(status: CodesetStatus) -> CodeSetStatus:
        return CodeSetStatus(
            kind=status.kind,
            in_use=status.in_use,
            current=status.current,
            load_next=status.load_next,
            releases=[CodeSetRelease.of(release) for release in status.releases],
        )


@strawberry.type
class CodeSetQueries:
    @strawberry.field(
        description="The code sets (ICD-10-CM, HCPCS, NCCI PTP, MUE, global days) for dates of service on "
        "`date` (default today): shared reference data of the deployment, the same for every clinic."
    )
    def code_sets(self, info: Info, date: dt.date | None = None) -> list[CodeSetStatus]:
        require(info, Permission.ENCOUNTERS_READ)
        on = date or dt.datetime.now(dt.UTC).date()
        return [CodeSetStatus.of(status) for status in codesets.status(on)]
