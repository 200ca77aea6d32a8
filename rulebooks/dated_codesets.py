"""Code sets by effective date: ICD-10-CM releases, NCCI PTP and MUE edits, size bands, our CPT labels.

Why a registry: which codes are valid, and which edits apply, depends on the date of service
(ICD-10-CM fiscal years start October 1; NCCI files are quarterly). The built-in sets are read
lazily, once per process, from files: the FY2026 ICD-10-CM list shipped by the
`simple-icd-10-cm` package and the derm subset of NCCI/MUE in `rulebooks/data/`, each row
with its source tag. `load_codeset(kind, path, effective)` adds a newer CMS file; a date of
service after the newest loaded release is checked against it and said so, never silently.
(`rulebooks/codesets.py` holds the rule language's literal checks; this module is the engine's.)
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import pathlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, get_args

from rulebooks.cms_files import GlobalDays, MueLimit, PtpEdit, read_global_days, read_mue, read_ptp

DATA_DIR = pathlib.Path(__file__).parent / "data"
CodesetKind = Literal["icd10cm", "hcpcs", "ncci_ptp", "mue", "global_days"]
CODESET_KINDS: tuple[CodesetKind, ...] = get_args(CodesetKind)
BUILTIN_ICD10CM_FISCAL_YEAR = 2026
BUILTIN_ICD10CM_FILE = "code-list-April-2026.txt"


def fiscal_year(date_of_service: dt.date) -> int:
    """The federal fiscal year of a date: FY2027 starts 2026-10-01.

    >>> fiscal_year(dt.date(2026, 9, 30)), fiscal_year(dt.date(2026, 10, 1))
    (2026, 2027)
    """
    return date_of_service.year + 1 if date_of_service.month >= 10 else date_of_service.year


def fiscal_year_start(year: int) -> dt.date:
    return dt.date(year - 1, 10, 1)


@dataclass(frozen=True)
class Icd10Release:
    """One ICD-10-CM release: code without dot -> billable (a leaf), for one fiscal year."""

    fiscal_year: int
    effective: dt.date
    billable_by_code: dict[str, bool]
    source: str

    def lookup(self, code: str) -> bool | None:
        """True billable, False a valid header (not billable), None not a code in this release."""
        return self.billable_by_code.get(code.replace(".", "").upper())


@dataclass(frozen=True)
class SizeBand:
    code: str
    upper_inclusive: float | None
    source: str
    status: str


@dataclass(frozen=True)
class HcpcsRelease:
    """A CMS HCPCS Level II release: the codes valid for dates of service from `effective`.

    Nothing is built in (no package ships HCPCS); until a release is loaded, Level II codes are
    checked by format only and no line is flagged.
    """

    effective: dt.date
    codes: frozenset[str]
    source: str


@dataclass(frozen=True)
class GlobalDaysRelease:
    """Global surgery indicators from one MPFS relative value file (or our built-in subset)."""

    effective: dt.date
    by_code: dict[str, GlobalDays]


@dataclass
class CodeSets:
    """Every loaded set; the built-ins read once, newer files appended by `load`."""

    icd10cm: list[Icd10Release] = field(default_factory=list)
    hcpcs: list[HcpcsRelease] = field(default_factory=list)
    ptp: dict[tuple[str, str], list[PtpEdit]] = field(default_factory=dict)
    mue: dict[str, list[MueLimit]] = field(default_factory=dict)
    global_days: list[GlobalDaysRelease] = field(default_factory=list)  # oldest first
    #: Every file loaded after the built-ins: (kind, effective, source), for `releases_for`.
    files: list[tuple[str, dt.date, str]] = field(default_factory=list)
    _column1_index: dict[str, frozenset[str]] | None = field(default=None, repr=False)
    _indexed_pairs: int = field(default=-1, repr=False)

    def icd10cm_for(self, date_of_service: dt.date) -> tuple[Icd10Release, bool]:
        """The release for the date's fiscal year, or the newest earlier one and False."""
        wanted = fiscal_year(date_of_service)
        for release in self.icd10cm:
            if release.fiscal_year == wanted:
                return release, True
        usable = [r for r in self.icd10cm if r.fiscal_year <= wanted] or self.icd10cm
        return max(usable, key=lambda release: release.fiscal_year), False

    def column1_codes_for(self, column2: str) -> frozenset[str]:
        """Codes paired with `column2` as column 1: the only lines a column-2 line is checked against."""
        return self.column1_index().get(column2, frozenset())

    def column1_index(self) -> dict[str, frozenset[str]]:
        """Column-2 code -> its column-1 codes, rebuilt when pairs were loaded (a pass reads it once per run)."""
        if self._column1_index is None or self._indexed_pairs != len(self.ptp):
            index: dict[str, set[str]] = {}
            for column1_code, column2_code in self.ptp:
                index.setdefault(column2_code, set()).add(column1_code)
            self._column1_index = {code: frozenset(codes) for code, codes in index.items()}
            self._indexed_pairs = len(self.ptp)
        return self._column1_index

    def ptp_edit(self, column1: str, column2: str, date_of_service: dt.date) -> PtpEdit | None:
        """The newest version of the pair in effect on the date, if any."""
        newest: PtpEdit | None = None  # the first of the newest versions in effect, as max() would pick
        for edit in self.ptp.get((column1, column2), ()):
            if edit.in_effect(date_of_service) and (newest is None or edit.effective > newest.effective):
                newest = edit
        return newest

    def mue_for(self, code: str, date_of_service: dt.date) -> MueLimit | None:
        newest: MueLimit | None = None  # the first of the newest versions in effect, as max() would pick
        for limit in self.mue.get(code, ()):
            if limit.effective <= date_of_service and (newest is None or limit.effective > newest.effective):
                newest = limit
        return newest

    def load(self, kind: CodesetKind, path: pathlib.Path | str, effective: dt.date, source: str | None = None) -> int:
        """Add a file of `kind` in effect from `effective`; returns the number of entries kept.

        `source` names the file in every reason that cites it (default: the file's name).
        """
        path = pathlib.Path(path)
        kept = self._load(kind, path, effective, source)
        self.files.append((kind, effective, source or path.name))  # after it read: a bad file is not a release
        return kept

    def _load(self, kind: CodesetKind, path: pathlib.Path, effective: dt.date, source: str | None) -> int:
        if kind == "icd10cm":
            release = read_icd10cm(path, fiscal_year(effective), effective, source)
            self.icd10cm = [r for r in self.icd10cm if r.fiscal_year != release.fiscal_year] + [release]
            return len(release.billable_by_code)
        if kind == "hcpcs":
            hcpcs = read_hcpcs(path, effective, source)
            self.hcpcs = sorted(
                [r for r in self.hcpcs if r.effective != effective] + [hcpcs], key=lambda release: release.effective
            )
            return len(hcpcs.codes)
        if kind == "ncci_ptp":
            edits = read_ptp(path, default_effective=effective, keep=engine_code, source=source)
            for edit in edits:
                self.ptp.setdefault((edit.column1, edit.column2), []).append(edit)
            return len(edits)
        if kind == "mue":
            limits = read_mue(path, default_effective=effective, source=source)
            for limit in limits:
                self.mue.setdefault(limit.code, []).append(limit)
            return len(limits)
        if kind == "global_days":
            days = GlobalDaysRelease(effective, {entry.code: entry for entry in read_global_days(path, source)})
            self.global_days = sorted(
                [r for r in self.global_days if r.effective != effective] + [days], key=lambda r: r.effective
            )
            return len(days.by_code)
        raise ValueError(f"unknown code set kind {kind!r}: expected one of {', '.join(CODESET_KINDS)}")

    def releases_for(self, date_of_service: dt.date) -> dict[str, str]:
        """Which release of each code set a coding on the date used: the newest loaded file in
        effect on the date (by its source), else the built-in set; ICD-10-CM by fiscal year."""
        icd10, exact = self.icd10cm_for(date_of_service)
        releases = {"icd10cm": f"FY{icd10.fiscal_year} {icd10.source}" + ("" if exact else " (older year)")}
        for kind in ("hcpcs", "ncci_ptp", "mue", "global_days"):
            loaded = [
                (effective, source) for k, effective, source in self.files if k == kind and effective <= date_of_service
            ]
            releases[kind] = f"{max(loaded)[1]} from {max(loaded)[0].isoformat()}" if loaded else "built-in"
        return releases

    def global_days_for(self, code: str, date_of_service: dt.date) -> GlobalDays | None:
        """The code's global indicator from the newest release in effect on the date that lists it."""
        for release in reversed(self.global_days):
            if release.effective <= date_of_service and code in release.by_code:
                return release.by_code[code]
        return None

    def hcpcs_for(self, date_of_service: dt.date) -> HcpcsRelease | None:
        """The newest loaded HCPCS Level II release in effect on the date, if any."""
        usable = [release for release in self.hcpcs if release.effective <= date_of_service]
        return usable[-1] if usable else None


@lru_cache(maxsize=1)
def default_codesets() -> CodeSets:
    """The built-in sets, read once per process on first use (never at import)."""
    sets = CodeSets()
    sets.icd10cm.append(builtin_icd10cm())
    for edit in read_ptp(DATA_DIR / "ncci_ptp.csv"):
        sets.ptp.setdefault((edit.column1, edit.column2), []).append(edit)
    for limit in read_mue(DATA_DIR / "mue.csv"):
        sets.mue.setdefault(limit.code, []).append(limit)
    builtin_days = read_global_days(DATA_DIR / "global_days.csv")
    sets.global_days.append(GlobalDaysRelease(dt.date.min, {entry.code: entry for entry in builtin_days}))
    return sets


def load_codeset(kind: CodesetKind, path: pathlib.Path | str, effective: dt.date, source: str | None = None) -> int:
    """Load a newer CMS file into this process's code sets (for `cutis codesets load KIND FILE`)."""
    return default_codesets().load(kind, path, effective, source)


@lru_cache(maxsize=1)
def size_bands() -> dict[tuple[str, str], list[SizeBand]]:
    """(family, group) -> bands in ascending order, from `data/cpt_size_bands.csv`."""
    bands: dict[tuple[str, str], list[SizeBand]] = {}
    with open(DATA_DIR / "cpt_size_bands.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            upper = float(row["upper_inclusive"]) if row["upper_inclusive"] else None
            bands.setdefault((row["family"], row["group"]), []).append(
                SizeBand(code=row["code"], upper_inclusive=upper, source=row["source"], status=row["status"])
            )
    return bands


def banded_code(family: str, group: str, size: float) -> SizeBand | None:
    """The band of `family` in `group` whose range holds `size`, or None above the last band.

    >>> banded_code("excision_malignant", "trunk_arms_legs", 2.4).code
    '11603'
    """
    for band in size_bands().get((family, group), ()):
        if band.upper_inclusive is None or size <= band.upper_inclusive:
            return band
    return None


@lru_cache(maxsize=1)
def cpt_labels() -> dict[str, str]:
    """Our own short labels for the codes the engine emits (never AMA descriptor text)."""
    with open(DATA_DIR / "cpt_labels.csv", newline="", encoding="utf-8") as handle:
        return {row["code"]: row["label"] for row in csv.DictReader(handle)}


def builtin_icd10cm() -> Icd10Release:
    """The FY2026 release shipped by simple-icd-10-cm, indexed from its code list without importing it.

    Importing the package parses its XML (seconds); its code list holds the same items, and a
    code is billable exactly when no longer code extends it (checked against `is_leaf` in tests).
    """
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a project dependency
        raise RuntimeError("the simple-icd-10-cm package is not installed")
    path = pathlib.Path(next(iter(spec.submodule_search_locations))) / "data" / BUILTIN_ICD10CM_FILE
    return read_icd10cm(
        path,
        BUILTIN_ICD10CM_FISCAL_YEAR,
        fiscal_year_start(BUILTIN_ICD10CM_FISCAL_YEAR),
        source=f"simple-icd-10-cm {BUILTIN_ICD10CM_FILE}",
    )


def read_icd10cm(path: pathlib.Path, year: int, effective: dt.date, source: str | None = None) -> Icd10Release:
    """Read a CMS order file (order number, code, header/billable flag, titles), a CMS codes file
    (code and title: every code billable) or a bare code list (billable = not extended)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    billable: dict[str, bool] = {}
    if lines and lines[0][:5].isdigit() and len(lines[0]) > 14 and lines[0][14] in "01":
        for line in lines:  # icd10cm-order-YYYY.txt: fixed columns
            billable[line[6:13].strip()] = line[14] == "1"
        return Icd10Release(year, effective, billable, source or path.name)
    has_titles = any(len(line.split(maxsplit=1)) > 1 for line in lines)
    codes = sorted({line.split()[0].replace(".", "").upper() for line in lines})
    codes = [code for code in codes if "-" not in code and not code.isdigit()]
    for index, code in enumerate(codes):
        extended = index + 1 < len(codes) and codes[index + 1].startswith(code)
        billable[code] = True if has_titles else not extended
    return Icd10Release(year, effective, billable, source or path.name)


HCPCS_LEVEL_II = re.compile(r"^[A-V][0-9]{4}$")


def engine_code(code: str) -> bool:
    """A code the engine can put on a claim: one of our CPT codes, or a Level II code (drugs come
    from the encounter). CMS's practitioner PTP file holds some 700,000 pairs; only those between
    two such codes can ever apply, and only they are kept in memory.

    >>> engine_code("17000"), engine_code("J3301"), engine_code("27447")
    (True, True, False)
    """
    return code in cpt_labels() or HCPCS_LEVEL_II.match(code) is not None


def read_hcpcs(path: pathlib.Path, effective: dt.date, source: str | None = None) -> HcpcsRelease:
    """CMS's fixed-width HCPCS file (the code in the first five columns) or a CSV with a
    `HCPC`/`code` column; Level I (CPT) rows and duplicates (continuation lines) are skipped."""
    text = path.read_text(encoding="latin-1")
    lines = text.splitlines()
    header = lines[0].lower() if lines else ""
    if "," in header and ("hcpc" in header or "code" in header):
        column = next(
            name for name in next(csv.reader([lines[0]])) if name.strip().lower() in ("hcpc", "hcpcs", "code")
        )
        codes = {row[column].strip().upper() for row in csv.DictReader(lines)}
    else:
        codes = {line[:5].strip().upper() for line in lines}
    valid = frozenset(code for code in codes if HCPCS_LEVEL_II.match(code))
    return HcpcsRelease(effective=effective, codes=valid, source=source or path.name)
