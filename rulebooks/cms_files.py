"""CMS's edit and fee-schedule files, read as CMS ships them, and our own CSV subsets of them.

Why both: the built-in subsets in `rulebooks/data/` carry a source tag per row, while a clinic
loading a new quarter (`cutis codesets load`) should hand over the download as it is, with no
conversion step of its own to get wrong. The layouts:

- NCCI PTP, practitioner (`ccipra-v*.txt`): a copyright line, a header block of one to four
  rows, then tab-separated rows: column 1, column 2, a pre-1996 star, effective date and
  deletion date as YYYYMMDD (`*` for none), the modifier indicator (0/1/9) and the rationale.
- MUE, practitioner services (`MCR_MUE_PractitionerServices_*.csv`): a copyright banner, then
  code, MUE value, adjudication indicator written out ("2 Date of Service Edit: Policy"), rationale.
- MPFS relative value file (`PPRRVU*.csv`): a preamble and caption rows, then a header row
  `HCPCS,MOD,DESCRIPTION,...`; the global days are the column captioned GLOB / DAYS. Rows with a
  modifier (26, TC, 53) are other components of the same code. The DESCRIPTION column is AMA
  text: it is never read.

A row that starts like data but cannot be read is refused with its line number; nothing of the
file is used then (the caller installs nothing).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import pathlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

CODE = re.compile(r"^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$")  # CPT (Category I-III) or HCPCS Level II
GLOBAL_INDICATORS = frozenset({"000", "010", "090", "MMM", "XXX", "YYY", "ZZZ"})


class CmsFileError(ValueError):
    """A file that cannot be read as its kind: the message names the line and what is wrong."""


@dataclass(frozen=True)
class PtpEdit:
    column1: str
    column2: str
    modifier_indicator: int
    effective: dt.date
    deleted: dt.date | None
    source: str
    note: str

    def in_effect(self, date_of_service: dt.date) -> bool:
        return self.effective <= date_of_service and (self.deleted is None or date_of_service < self.deleted)


@dataclass(frozen=True)
class MueLimit:
    code: str
    max_units: int
    mai: int
    effective: dt.date
    source: str
    note: str


@dataclass(frozen=True)
class GlobalDays:
    """A code's global surgery indicator: 000, 010, 090 (postoperative days), ZZZ (an add-on within
    its primary's global), XXX (the concept does not apply), YYY (set by the carrier), MMM (maternity)."""

    code: str
    indicator: str
    source: str
    status: str


def read_ptp(
    path: pathlib.Path,
    default_effective: dt.date | None = None,
    keep: Callable[[str], bool] | None = None,
    source: str | None = None,
) -> list[PtpEdit]:
    """Our CSV (`column1,column2,modifier_indicator,...`) or CMS's practitioner PTP text file; from the
    latter only the pairs of two codes `keep` accepts (every row is still checked)."""
    text = path.read_text(encoding="latin-1")
    if text.startswith("column1,"):
        return [
            PtpEdit(
                column1=row["column1"],
                column2=row["column2"],
                modifier_indicator=int(row["modifier_indicator"]),
                effective=_iso_date(row.get("effective_date"), default_effective) or dt.date.min,
                deleted=_iso_date(row.get("deletion_date")),
                source=row.get("source") or source or path.name,
                note=row.get("note") or "",
            )
            for row in csv.DictReader(io.StringIO(text))
        ]
    edits = []
    for number, cells in _data_rows(text, "two codes, dates and a modifier indicator", first_cells=2, least=6):
        effective = _cms_date(cells[3], number, "effective date")
        if effective is None:
            raise CmsFileError(f"line {number}: the effective date is missing")
        indicator = cells[5].strip()
        if indicator not in ("0", "1", "9"):
            raise CmsFileError(f"line {number}: the modifier indicator is {indicator!r}; expected 0, 1 or 9")
        if keep is not None and not (keep(cells[0]) and keep(cells[1])):
            continue
        edits.append(
            PtpEdit(
                column1=cells[0].strip(),
                column2=cells[1].strip(),
                modifier_indicator=int(indicator),
                effective=effective,
                deleted=_cms_date(cells[4], number, "deletion date"),
                source=source or path.name,
                note=cells[6].strip() if len(cells) > 6 else "",
            )
        )
    return edits


def read_mue(path: pathlib.Path, default_effective: dt.date | None = None, source: str | None = None) -> list[MueLimit]:
    """Our CSV (`code,mue_units,mai,...`) or CMS's practitioner services MUE file."""
    text = path.read_text(encoding="latin-1")
    if text.startswith("code,"):
        return [
            MueLimit(
                code=row["code"],
                max_units=int(row["mue_units"]),
                mai=int(row.get("mai") or 2),
                effective=_iso_date(row.get("effective_date"), default_effective) or dt.date.min,
                source=row.get("source") or source or path.name,
                note=row.get("note") or "",
            )
            for row in csv.DictReader(io.StringIO(text))
        ]
    limits = []
    for number, cells in _data_rows(text, "a code, an MUE value and an adjudication indicator", first_cells=1, least=3):
        units, mai = cells[1].strip(), cells[2].strip()[:1]
        if not units.isdigit():
            raise CmsFileError(f"line {number}: the MUE value is {cells[1].strip()!r}; expected a whole number")
        if mai not in ("1", "2", "3"):
            raise CmsFileError(
                f"line {number}: the adjudication indicator is {cells[2].strip()!r}; expected one starting 1, 2 or 3"
            )
        limits.append(
            MueLimit(
                code=cells[0].strip(),
                max_units=int(units),
                mai=int(mai),
                effective=default_effective or dt.date.min,
                source=source or path.name,
                note=cells[3].strip() if len(cells) > 3 else "",
            )
        )
    return limits


def read_global_days(path: pathlib.Path, source: str | None = None) -> list[GlobalDays]:
    """Our CSV (`code,global_days,source,status`) or CMS's MPFS relative value file (PPRRVU)."""
    text = path.read_text(encoding="latin-1")
    if text.startswith("code,"):
        return [
            GlobalDays(row["code"], row["global_days"], row["source"], row["status"])
            for row in csv.DictReader(io.StringIO(text))
        ]
    rows = list(csv.reader(io.StringIO(text)))
    header_at = next(
        (
            index
            for index, row in enumerate(rows)
            if len(row) > 2 and row[0].strip().upper() == "HCPCS" and row[1].strip().upper() == "MOD"
        ),
        None,
    )
    if header_at is None:
        raise CmsFileError("no header row starting HCPCS,MOD: not an MPFS relative value file")
    caption = rows[header_at - 1] if header_at else []
    column = next(
        (
            index
            for index, name in enumerate(rows[header_at])
            if name.strip().upper() == "GLOB DAYS"
            or (name.strip().upper() == "DAYS" and index < len(caption) and caption[index].strip().upper() == "GLOB")
        ),
        None,
    )
    if column is None:
        raise CmsFileError(f"line {header_at + 1}: no GLOB DAYS column in the header")
    days = []
    for number, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not row or not row[0].strip() or row[1].strip():
            continue  # a blank row, or a component (26, TC, 53) of a code read from its own row
        code, indicator = row[0].strip().upper(), row[column].strip().upper() if column < len(row) else ""
        if not CODE.match(code):
            raise CmsFileError(f"line {number}: {code!r} is not a CPT/HCPCS code")
        if indicator not in GLOBAL_INDICATORS:
            raise CmsFileError(
                f"line {number}: the global days of {code} are {indicator!r}; "
                f"expected one of {', '.join(sorted(GLOBAL_INDICATORS))}"
            )
        days.append(GlobalDays(code, indicator, source or path.name, "loaded"))
    return days


def _data_rows(text: str, expected: str, first_cells: int, least: int) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each row that starts with a code; the rows before the first are the header.

    The header block differs between releases (one row or four, a copyright line or two), so it
    is recognised by what follows it rather than by its wording. After the first row of data, a
    row that is not data is an error: a file cut short or mangled is refused, not half read.
    """
    started = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split("\t") if "\t" in line else next(csv.reader([line]))
        leading = [cell.strip().upper() for cell in cells[:first_cells]]
        if len(leading) == first_cells and all(CODE.match(cell) for cell in leading) and len(cells) >= least:
            started = True
            yield number, leading + cells[first_cells:]
        elif started or CODE.match(leading[0] if leading else ""):
            raise CmsFileError(f"line {number}: expected {expected}, found {line.strip()[:60]!r}")
    if not started:
        raise CmsFileError(f"no rows of {expected} found")


def _cms_date(text: str, number: int, what: str) -> dt.date | None:
    text = text.strip()
    if text in ("", "*"):
        return None
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise CmsFileError(f"line {number}: the {what} is {text!r}; expected YYYYMMDD or *") from None


def _iso_date(text: str | None, default: dt.date | None = None) -> dt.date | None:
    text = (text or "").strip()
    return dt.date.fromisoformat(text) if text else default
