"""Which code-set releases are loaded, for which dates of service, and what to load next.

Why once and not only per encounter: every coding dated in a fiscal year whose ICD-10-CM release is
not loaded carries `codeset_not_loaded`; the status says so once, for a date (the CLI and the API
pass today), with the `cutis codesets load` command that fixes it. Nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rulebooks.dated_codesets import CODESET_KINDS, CodeSets, fiscal_year, fiscal_year_start

#: What CMS ships for each kind, named as `cutis codesets load` takes it.
CMS_FILES = {
    "icd10cm": "the CMS ICD-10-CM order file (icd10cm-order-{year}.txt) or codes file",
    "hcpcs": "the CMS HCPCS Level II quarterly file (HCPC{year}_*_ANWEB.txt)",
    "ncci_ptp": "the CMS practitioner NCCI PTP quarterly file (.txt)",
    "mue": "the CMS practitioner services MUE quarterly file (.csv)",
    "global_days": "the CMS MPFS relative value file (PPRRVU{year}*.csv)",
}
#: What a coding falls back on while no file of the kind is loaded.
BUILT_IN = {
    "hcpcs": "HCPCS Level II codes are not checked against a release",
    "ncci_ptp": "the built-in dermatology subset of pairs is used",
    "mue": "the built-in dermatology subset of limits is used",
    "global_days": "the built-in dermatology subset of global days is used",
}


@dataclass(frozen=True)
class CodesetRelease:
    """One release in the registry and the dates of service it is the release for."""

    kind: str
    name: str
    first_date: dt.date | None  # None: the built-in set, for any date no loaded file covers
    last_date: dt.date | None  # None: until a newer release


@dataclass(frozen=True)
class CodesetStatus:
    """One kind on one date: the release a coding uses, whether it is the release for that date,
    and, when it is not (or only the built-in subset is there), what to load."""

    kind: str
    in_use: str
    current: bool
    load_next: str | None
    releases: tuple[CodesetRelease, ...]


def codeset_status(sets: CodeSets, on: dt.date) -> list[CodesetStatus]:
    """The status of every code-set kind for dates of service on `on`, in `CODESET_KINDS` order."""
    in_use = sets.releases_for(on)
    return [_icd10cm_status(sets, on, in_use["icd10cm"])] + [
        _file_status(sets, kind, on, in_use[kind]) for kind in CODESET_KINDS if kind != "icd10cm"
    ]


def _icd10cm_status(sets: CodeSets, on: dt.date, in_use: str) -> CodesetStatus:
    releases = tuple(
        CodesetRelease(
            "icd10cm",
            f"FY{release.fiscal_year} {release.source}",
            fiscal_year_start(release.fiscal_year),
            fiscal_year_start(release.fiscal_year + 1) - dt.timedelta(days=1),
        )
        for release in sorted(sets.icd10cm, key=lambda release: release.fiscal_year)
    )
    _, exact = sets.icd10cm_for(on)
    year = fiscal_year(on)
    load_next = None
    if not exact:
        load_next = (
            f"ICD-10-CM FY{year} (dates of service {fiscal_year_start(year)} to "
            f"{fiscal_year_start(year + 1) - dt.timedelta(days=1)}): cutis codesets load icd10cm "
            f"icd10cm-order-{year}.txt --effective {fiscal_year_start(year)} "
            f"({CMS_FILES['icd10cm'].format(year=year)})"
        )
    return CodesetStatus("icd10cm", in_use, exact, load_next, releases)


def _file_status(sets: CodeSets, kind: str, on: dt.date, in_use: str) -> CodesetStatus:
    loaded = sorted((effective, source) for k, effective, source in sets.files if k == kind)
    releases = tuple(
        CodesetRelease(
            kind,
            source,
            effective,
            loaded[index + 1][0] - dt.timedelta(days=1) if index + 1 < len(loaded) else None,
        )
        for index, (effective, source) in enumerate(loaded)
    )
    current = any(effective <= on for effective, _ in loaded)
    load_next = None
    if not current:
        load_next = (
            f"{CMS_FILES[kind].format(year=on.year)} in effect on {on}: cutis codesets load {kind} FILE "
            f"--effective DATE (until then {BUILT_IN[kind]})"
        )
    return CodesetStatus(kind, in_use, current, load_next, (CodesetRelease(kind, "built-in", None, None), *releases))
