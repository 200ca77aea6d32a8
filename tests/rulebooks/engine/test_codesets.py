"""Code sets by date: the ICD-10-CM index against the package, newer files, and the data files' provenance."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from rulebooks.dated_codesets import DATA_DIR, CodeSets, builtin_icd10cm, default_codesets, fiscal_year, load_codeset
from rulebooks.engine import code
from rulebooks.models import Encounter
from tests.rulebooks.engine.engine_corpus import BASE_ENCOUNTER, CODED_AT

SAMPLE = ["L57.0", "L57", "C44.311", "C44.31", "D22.39", "S41.111A", "S41.111", "L74.510", "Z41.1", "A00-A09", "L83"]


def test_our_index_agrees_with_the_package_on_validity_and_billability():
    simple_icd_10_cm = pytest.importorskip("simple_icd_10_cm")
    release = builtin_icd10cm()
    for code_text in SAMPLE:
        if not simple_icd_10_cm.is_valid_item(code_text) or "-" in code_text:
            assert release.lookup(code_text) is None
            continue
        assert release.lookup(code_text) == simple_icd_10_cm.is_leaf(code_text), code_text
    assert release.lookup("L83.1") is None


def test_fiscal_years_start_on_the_first_of_october():
    assert fiscal_year(dt.date(2025, 10, 1)) == 2026
    assert fiscal_year(dt.date(2026, 9, 30)) == 2026
    assert fiscal_year(dt.date(2026, 10, 1)) == 2027


def test_a_cms_order_file_loads_as_the_release_for_its_fiscal_year(tmp_path):
    order_file = tmp_path / "icd10cm-order-2027.txt"
    order_file.write_text(
        "00001 L57     0 Actinic keratosis and other skin changes     Actinic keratosis and other\n"
        "00002 L570    1 Actinic keratosis                            Actinic keratosis\n"
        "00003 L579    1 Skin changes, unspecified                    Skin changes\n",
        encoding="utf-8",
    )
    sets = CodeSets(icd10cm=[builtin_icd10cm()])
    assert sets.load("icd10cm", order_file, dt.date(2026, 10, 1)) == 3
    release, exact = sets.icd10cm_for(dt.date(2026, 10, 15))
    assert exact and release.fiscal_year == 2027
    assert release.lookup("L57.0") is True and release.lookup("L57") is False and release.lookup("C44.311") is None
    old, exact_old = sets.icd10cm_for(dt.date(2026, 3, 1))
    assert exact_old and old.fiscal_year == 2026


def test_a_loaded_release_clears_the_codeset_not_loaded_flag(tmp_path):
    codes_file = tmp_path / "icd10cm-codes-2027.txt"
    codes_file.write_text("L570    Actinic keratosis\nL918    Other hypertrophic disorders of skin\n", encoding="utf-8")
    encounter = Encounter.model_validate(
        {
            **BASE_ENCOUNTER,
            "external_id": "fy27",
            "date_of_service": "2026-10-15",
            "diagnoses": ["L57.0"],
            "services": [{"id": "d1", "kind": "destruction", "count": 1, "diagnoses": ["L57.0"]}],
        }
    )
    before = code(encounter, encounter_id="fy27", coded_at=CODED_AT)
    assert [flag.code for flag in before.flags] == ["codeset_not_loaded"]
    sets = default_codesets()
    saved = list(sets.icd10cm)
    try:
        load_codeset("icd10cm", codes_file, dt.date(2026, 10, 1))
        after = code(encounter, encounter_id="fy27", coded_at=CODED_AT)
        assert after.flags == []
    finally:
        sets.icd10cm = saved


def test_newer_ptp_and_mue_files_load_by_effective_date(tmp_path):
    ptp_file = tmp_path / "ptp.csv"
    ptp_file.write_text(
        "column1,column2,modifier_indicator,effective_date,deletion_date,source,note\n"
        "17000,11102,0,,,CMS 2027Q1,example\n",
        encoding="utf-8",
    )
    mue_file = tmp_path / "mue.csv"
    mue_file.write_text(
        "code,mue_units,mai,effective_date,source,note\n11103,3,3,,CMS 2027Q1,example\n", encoding="utf-8"
    )
    sets = CodeSets()
    sets.load("ncci_ptp", ptp_file, dt.date(2027, 1, 1))
    sets.load("mue", mue_file, dt.date(2027, 1, 1))
    assert sets.ptp_edit("17000", "11102", dt.date(2026, 12, 31)) is None
    edit = sets.ptp_edit("17000", "11102", dt.date(2027, 1, 2))
    assert edit is not None and edit.modifier_indicator == 0
    limit = sets.mue_for("11103", dt.date(2027, 2, 1))
    assert limit is not None and limit.max_units == 3
    with pytest.raises(ValueError, match="unknown code set kind"):
        sets.load("cpt", mue_file, dt.date(2027, 1, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["ncci_ptp.csv", "mue.csv", "cpt_size_bands.csv"])
def test_every_data_row_carries_its_source(name):
    with open(DATA_DIR / name, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    assert all(row["source"].startswith("S") for row in rows)
    for row in rows:
        if "effective_date" in row:
            dt.date.fromisoformat(row["effective_date"])


def test_size_bands_rise_within_each_group():
    with open(DATA_DIR / "cpt_size_bands.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    groups: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        groups.setdefault((row["family"], row["group"]), []).append(row["upper_inclusive"])
    for uppers in groups.values():
        bounded = [float(u) for u in uppers if u]
        assert bounded == sorted(bounded)
        assert all(uppers[:-1])  # only the last band may be open-ended


def test_labels_are_our_own_short_words():
    with open(DATA_DIR / "cpt_labels.csv", newline="", encoding="utf-8") as handle:
        labels = {row["code"]: row["label"] for row in csv.DictReader(handle)}
    assert all(0 < len(label) <= 100 for label in labels.values())
