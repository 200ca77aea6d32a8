"""CMS's own PTP, MUE and MPFS files are read as CMS ships them; a mangled one is refused with its line.

The fixtures copy CMS's layouts (header blocks, banners, caption rows, YYYYMMDD dates, `*` for
no deletion date) with synthetic rationale text; descriptions in the MPFS file stand in for AMA
text and must never come out of the reader.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rulebooks.cms_files import CmsFileError, read_global_days, read_mue, read_ptp
from rulebooks.dated_codesets import DATA_DIR

PTP_HEADER = (
    "CPT only copyright 2026 American Medical Association. All rights reserved.\r\n"
    "\r\n"
    "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale\r\n"
    "\t\tprior to 1996\tDate\tDate\t0=not allowed\t\r\n"
    "\t\t\t\t*=no data\t1=allowed\t\r\n"
    "\t\t\t\t\t9=not applicable\t\r\n"
)
MUE_HEADER = (
    '"CPT codes, descriptions and other data only are copyright 2026 American Medical Association."\n'
    "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\n"
)
MPFS_HEADER = (
    ",,2027 National Physician Fee Schedule Relative Value File January Release,,,,,,,,,,,,,\n"
    ",,,STATUS,NOT USED FOR,WORK,NON-FAC,NA,FACILITY,NA,MP,NON-FACILITY,FACILITY,PCTC,GLOB,PRE\n"
    "HCPCS,MOD,DESCRIPTION,CODE,MEDICARE PAYMENT,RVU,PE RVU,INDICATOR,PE RVU,INDICATOR,RVU,TOTAL,TOTAL,IND,DAYS,OP\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="latin-1", newline="")
    return path


class TestPtp:
    def test_cms_text_file_with_a_four_row_header(self, tmp_path):
        path = write(
            tmp_path,
            "ccipra-v330r0-f1.txt",
            PTP_HEADER
            + "11400\t11102\t\t20270101\t*\t1\tMisuse of column two code with column one code\r\n"
            + "12031\t12001\t*\t19960101\t20270401\t0\tMutually exclusive procedures\r\n",
        )
        first, second = read_ptp(path)
        assert (first.column1, first.column2, first.modifier_indicator) == ("11400", "11102", 1)
        assert first.effective == dt.date(2027, 1, 1) and first.deleted is None
        assert first.source == "ccipra-v330r0-f1.txt" and first.note.startswith("Misuse")
        assert second.deleted == dt.date(2027, 4, 1) and not second.in_effect(dt.date(2027, 4, 1))
        assert second.in_effect(dt.date(2027, 3, 31))

    def test_our_csv_is_still_read(self):
        edits = read_ptp(DATA_DIR / "ncci_ptp.csv")
        assert edits and all(edit.source.startswith("S") for edit in edits)

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            (
                "11400\t11102\t\t2027-01-01\t*\t1\tx",
                "line 7: the effective date is '2027-01-01'; expected YYYYMMDD or *",
            ),
            ("11400\t11102\t\t20270101\t*\t2\tx", "line 7: the modifier indicator is '2'; expected 0, 1 or 9"),
            ("11400\t11102\t\t\t*\t1\tx", "line 7: the effective date is missing"),
            ("11400\t11102\t20270101", "line 7: expected two codes, dates and a modifier indicator, found"),
        ],
    )
    def test_a_mangled_row_is_refused_with_its_line(self, tmp_path, row, message):
        path = write(tmp_path, "ptp.txt", PTP_HEADER + row + "\r\n")
        with pytest.raises(CmsFileError, match=message.replace("*", r"\*").replace("(", r"\(")):
            read_ptp(path)

    def test_a_file_cut_short_after_its_data_began_is_refused(self, tmp_path):
        path = write(tmp_path, "ptp.txt", PTP_HEADER + "11400\t11102\t\t20270101\t*\t1\tx\r\n<html>error page\r\n")
        with pytest.raises(CmsFileError, match="line 8: expected two codes"):
            read_ptp(path)

    def test_a_file_without_data_is_refused(self, tmp_path):
        with pytest.raises(CmsFileError, match="no rows of two codes"):
            read_ptp(write(tmp_path, "ptp.txt", PTP_HEADER))


class TestMue:
    def test_cms_practitioner_file_with_its_banner(self, tmp_path):
        path = write(
            tmp_path,
            "MCR_MUE_PractitionerServices_Eff_01-01-2027.csv",
            MUE_HEADER
            + "11103,1,3 Date of Service Edit: Clinical,Clinical: Data\n"
            + "17003,13,2 Date of Service Edit: Policy,Code Descriptor / CPT Instruction\n",
        )
        limits = read_mue(path, default_effective=dt.date(2027, 1, 1))
        assert [(limit.code, limit.max_units, limit.mai) for limit in limits] == [("11103", 1, 3), ("17003", 13, 2)]
        assert all(limit.effective == dt.date(2027, 1, 1) for limit in limits)
        assert limits[1].note == "Code Descriptor / CPT Instruction"

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            ("11103,one,3 Date of Service Edit: Clinical,x", "line 3: the MUE value is 'one'; expected a whole number"),
            ("11103,1,Date of Service Edit,x", "line 3: the adjudication indicator is 'Date of Service Edit'"),
            ("11103,1", "line 3: expected a code, an MUE value and an adjudication indicator, found '11103,1'"),
        ],
    )
    def test_a_mangled_row_is_refused_with_its_line(self, tmp_path, row, message):
        with pytest.raises(CmsFileError, match=message):
            read_mue(write(tmp_path, "mue.csv", MUE_HEADER + row + "\n"))


class TestGlobalDays:
    def test_mpfs_relative_value_file(self, tmp_path):
        path = write(
            tmp_path,
            "PPRRVU27_JAN.csv",
            MPFS_HEADER
            + "17000,,AMA TEXT 1,A,,0.61,1.2,,0.5,,0.05,1.8,1.1,0,010,0.1\n"
            + "88305,,AMA TEXT 2,A,,0.75,1.0,,1.0,,0.01,1.7,1.7,1,XXX,0\n"
            + "88305,26,AMA TEXT 3,A,,0.75,0.3,,0.3,,0.01,1.1,1.1,1,XXX,0\n"
            + "17003,,AMA TEXT 4,A,,0.04,0.1,,0.1,,0.01,0.1,0.1,0,ZZZ,0\n",
        )
        days = read_global_days(path)
        assert [(entry.code, entry.indicator) for entry in days] == [
            ("17000", "010"),
            ("88305", "XXX"),
            ("17003", "ZZZ"),
        ]
        assert all("AMA" not in repr(entry) for entry in days)  # descriptions are never read

    def test_a_header_naming_the_column_in_one_cell(self, tmp_path):
        path = write(tmp_path, "pfs.csv", "HCPCS,MOD,DESCRIPTION,GLOB DAYS\n11102,,x,000\n")
        assert [entry.indicator for entry in read_global_days(path)] == ["000"]

    def test_our_csv_is_still_read(self):
        days = read_global_days(DATA_DIR / "global_days.csv")
        assert {entry.indicator for entry in days} <= {"000", "010", "090", "ZZZ"}

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("code;days\n17000;010\n", "no header row starting HCPCS,MOD"),
            ("HCPCS,MOD,DESCRIPTION,STATUS\n17000,,x,A\n", "line 1: no GLOB DAYS column"),
            (MPFS_HEADER + "17000,,x,A,,0,0,,0,,0,0,0,0,10,0\n", "line 4: the global days of 17000 are '10'"),
            (MPFS_HEADER + "Total,,x,A,,0,0,,0,,0,0,0,0,010,0\n", "line 4: 'TOTAL' is not a CPT/HCPCS code"),
        ],
    )
    def test_a_mangled_file_is_refused(self, tmp_path, text, message):
        with pytest.raises(CmsFileError, match=message):
            read_global_days(write(tmp_path, "pfs.csv", text))
