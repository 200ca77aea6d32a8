"""The text diffs a compliance reviewer reads: items matched by id, and exact regions."""

from __future__ import annotations

from pathlib import Path

import pytest

from rulebooks.rulebook_diff import exact_regions, structural_diff

LIBRARY = Path(__file__).resolve().parents[2] / "rulebooks" / "library"
AETNA = (LIBRARY / "aetna-commercial.rules").read_text()

TABLE = """rulebook "Caps"

table caps "Caps per payer"
  in policy
  hit first
  when service.kind = destruction
  | payer | => cap      |
  | UHC   | 15 lesions |
  | AETNA | 10 lesions |
  | -     | 14 lesions |
  then
    if service.count > cap then cap lesions of service at cap

rule big "Big lesions"
  in policy
  when service.kind = excision
   and service.lesion_size_cm >= 2 cm
  then
    flag prior_auth
"""


def test_a_moved_item_is_no_change_and_a_changed_one_shows_its_text_diff() -> None:
    table, rule = TABLE[TABLE.index("table caps") : TABLE.index("rule big")], TABLE[TABLE.index("rule big") :]
    moved = TABLE[: TABLE.index("table caps")] + rule + "\n" + table
    assert structural_diff(TABLE, moved) == []
    changed = structural_diff(AETNA, AETNA.replace("service.count > 10 lesions", "service.count > 12 lesions"))
    assert [(c.kind, c.id, c.status) for c in changed] == [("rule", "aetna-ak-cap-10", "changed")]
    assert "-   and service.count > 10 lesions\n+   and service.count > 12 lesions" in changed[0].text_diff


def test_added_removed_header_and_a_new_book() -> None:
    without_mohs = AETNA.replace(AETNA[AETNA.index("rule aetna-mohs") : AETNA.index("test ")], "")
    removed = structural_diff(AETNA, without_mohs)
    assert ("rule", "aetna-mohs-pa-over-2-stages", "removed") in {(c.kind, c.id, c.status) for c in removed}
    dated = structural_diff(AETNA, AETNA.replace("effective 2026-01-01", "effective 2027-01-01"))
    assert [(c.kind, c.status) for c in dated] == [("header", "changed")]
    assert "-  effective 2026-01-01\n+  effective 2027-01-01" in dated[0].text_diff
    assert {c.status for c in structural_diff("", AETNA)} == {"added"}


def test_a_raised_count_threshold_flips_exactly_the_counts_between() -> None:
    raised = AETNA.replace("service.count > 10 lesions", "service.count > 14 lesions")
    (region,) = exact_regions(AETNA, raised)
    assert region.sentence.startswith("aetna-ak-cap-10: service.count 11-14 lesions: fires -> does not fire (when ")
    (lowered,) = exact_regions(raised, AETNA)
    assert "service.count 11-14 lesions: does not fire -> fires" in lowered.sentence


def test_a_measure_threshold_is_an_interval_with_the_right_ends() -> None:
    (region,) = exact_regions(TABLE, TABLE.replace(">= 2 cm", ">= 3 cm"))
    assert "service.lesion_size_cm [2, 3) cm: fires -> does not fire" in region.sentence


def test_table_rows_by_their_inputs() -> None:
    changed = TABLE.replace("| AETNA | 10 lesions |", "| AETNA | 12 lesions |").replace("| UHC   | 15 lesions |\n", "")
    sentences = {region.sentence for region in exact_regions(TABLE, changed)}
    assert sentences == {
        "caps: payer = UHC: row removed (cap 15 lesions)",
        "caps: payer = AETNA: cap 10 lesions -> 12 lesions",
    }


def test_a_change_the_language_cannot_say_exactly_gets_no_region() -> None:
    other_fact = TABLE.replace("service.lesion_size_cm >= 2 cm", "service.margin_cm >= 2 cm")
    assert exact_regions(TABLE, other_fact) == []
    assert structural_diff(TABLE, other_fact)[0].id == "big"


@pytest.mark.parametrize("side", ["old", "new"])
def test_a_book_with_errors_is_named_with_its_line(side: str) -> None:
    broken = AETNA.replace("when service.kind = destruction", "when service.kind = = destruction", 1)
    with pytest.raises(ValueError, match=f"the {side} rulebook has errors"):
        structural_diff(broken if side == "old" else AETNA, AETNA if side == "old" else broken)
