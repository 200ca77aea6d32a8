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


# ---- richer exact regions: whole-number facts, masked rows, hit policies --------------------


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(
            "> 10 lesions",
            ">= 11 lesions",
            [
                "service.count > 10 lesions and service.count >= 11 lesions "
                "admit the same whole numbers: no input changes"
            ],
            id="> 10 and >= 11 are the same on a count",
        ),
        pytest.param(
            "> 10 lesions",
            ">= 10.5 lesions",
            ["admit the same whole numbers: no input changes"],
            id="a half threshold on a count is the next whole one",
        ),
        pytest.param(
            "> 10 lesions",
            ">= 15 lesions",
            ["service.count 11-14 lesions: fires -> does not fire"],
            id="> 10 to >= 15 flips 11-14",
        ),
        pytest.param(
            "> 10 lesions",
            ">= 10 lesions",
            ["service.count 10 lesions: does not fire -> fires"],
            id="> 10 to >= 10 flips the count 10 alone",
        ),
        pytest.param(
            "> 10 lesions",
            "< 5 lesions",
            [
                "service.count 11 lesions or more: fires -> does not fire",
                "service.count 4 lesions or fewer: does not fire -> fires",
            ],
            id="turned around: two regions",
        ),
    ],
)
def test_a_count_threshold_is_compared_as_whole_numbers(before: str, after: str, expected: list[str]) -> None:
    book = AETNA.replace("service.count > 10 lesions", f"service.count {before}")
    edited = AETNA.replace("service.count > 10 lesions", f"service.count {after}")
    assert edited != AETNA
    sentences = [region.sentence for region in exact_regions(book, edited)]
    assert len(sentences) == len(expected)
    for sentence, part in zip(sentences, expected, strict=True):
        assert part in sentence


def test_on_a_measure_the_same_change_of_operator_flips_the_bound_itself() -> None:
    (region,) = exact_regions(TABLE, TABLE.replace(">= 2 cm", "> 2 cm"))
    assert "service.lesion_size_cm 2 cm: fires -> does not fire" in region.sentence


def test_a_changed_action_names_the_inputs_that_fire_before_and_after() -> None:
    lowered = TABLE.replace(">= 2 cm", ">= 1 cm").replace("flag prior_auth", "flag provider_query")
    sentences = [region.sentence for region in exact_regions(TABLE, lowered)]
    assert (
        sentences[0] == "big: service.lesion_size_cm [1, 2) cm: does not fire -> fires (when service.kind = excision)"
    )
    # the inputs it fires on both times are the stricter threshold's, not the new one's
    assert sentences[1].startswith("big: service.lesion_size_cm 2 cm or more (fires before and after)")


COUNTS = """rulebook "Counts"

table count-caps "Caps by count"
  in policy
  hit first
  when service.kind = destruction
  | service.count | => cap      |
  | >= 10 lesions | 10 lesions |
  | >= 12 lesions | 12 lesions |
  | -             | 14 lesions |
  then
    if service.count > cap then cap lesions of service at cap
"""


def test_a_row_masked_by_an_earlier_row_changes_nothing() -> None:
    changed = COUNTS.replace("| >= 12 lesions | 12 lesions |", "| >= 12 lesions | 20 lesions |")
    (region,) = exact_regions(COUNTS, changed)
    assert region.sentence == (
        "count-caps: service.count >= 12 lesions: row 2 is masked by row 1 above it (hit first): "
        "no input reaches it, so changing it changes nothing"
    )


def test_a_row_masked_only_now_says_which_row_takes_its_inputs() -> None:
    # `< 5` is apart from `>= 10`; row 1 turned to `< 10` now covers it, and its new output reaches nobody
    apart = COUNTS.replace("| >= 12 lesions | 12 lesions |", "| < 5 lesions   | 5 lesions  |")
    changed = apart.replace("| >= 10 lesions | 10 lesions |", "| < 10 lesions  | 10 lesions |").replace(
        "| < 5 lesions   | 5 lesions  |", "| < 5 lesions   | 4 lesions  |"
    )
    masked = [r.sentence for r in exact_regions(apart, changed) if "masked" in r.sentence]
    assert masked == [
        "count-caps: service.count < 5 lesions: row 2 is masked by row 1 above it (hit first): no input reaches "
        "it, the inputs it matched get row 1's outputs (cap 10 lesions)"
    ]


def test_an_added_row_an_earlier_row_covers_is_reached_by_no_input() -> None:
    # `> 10.5 lesions` on a count is `>= 11`: inside `>= 10`, so row 1 takes every input it admits
    added = COUNTS.replace("| >= 12 lesions |", "| > 10.5 lesions | 11 lesions |\n  | >= 12 lesions |")
    (region,) = exact_regions(COUNTS, added)
    assert "row added as row 2, masked by row 1 above it (hit first): no input reaches it" in region.sentence


def test_a_row_below_overlapping_rows_changes_only_where_none_of_them_matches() -> None:
    changed = COUNTS.replace("| -             | 14 lesions |", "| -             | 16 lesions |")
    (region,) = exact_regions(COUNTS, changed)
    assert region.sentence == (
        "count-caps: any input: cap 14 lesions -> 16 lesions, where no earlier row matches "
        "(service.count >= 10 lesions; service.count >= 12 lesions)"
    )
    # rows an earlier row provably never overlaps are not named: `< 5` and `>= 10` share no count
    apart = COUNTS.replace("| >= 12 lesions | 12 lesions |", "| < 5 lesions | 5 lesions |")
    (region,) = exact_regions(apart, apart.replace("| < 5 lesions | 5 lesions |", "| < 5 lesions | 4 lesions |"))
    assert region.sentence == "count-caps: service.count < 5 lesions: cap 5 lesions -> 4 lesions"


def test_swapped_rows_change_exactly_the_inputs_both_match() -> None:
    swapped = COUNTS.replace(
        "| >= 10 lesions | 10 lesions |\n  | >= 12 lesions | 12 lesions |",
        "| >= 12 lesions | 12 lesions |\n  | >= 10 lesions | 10 lesions |",
    )
    (region,) = exact_regions(COUNTS, swapped)
    assert region.sentence == (
        "count-caps: inputs matching both service.count >= 12 lesions and service.count >= 10 lesions "
        "(rows swapped): cap 10 lesions -> cap 12 lesions"
    )
    # rows no input matches together may swap freely
    assert (
        exact_regions(
            TABLE,
            TABLE.replace(
                "| UHC   | 15 lesions |\n  | AETNA | 10 lesions |", "| AETNA | 10 lesions |\n  | UHC   | 15 lesions |"
            ),
        )
        == []
    )


def test_a_masked_row_matters_under_hit_collect() -> None:
    collect = COUNTS.replace("hit first", "hit collect max")
    changed = collect.replace("| >= 12 lesions | 12 lesions |", "| >= 12 lesions | 20 lesions |")
    (region,) = exact_regions(collect, changed)
    assert region.sentence == (
        "count-caps: service.count >= 12 lesions: cap 12 lesions -> 20 lesions "
        "(hit collect max: combined with every other matching row)"
    )


@pytest.mark.parametrize(
    ("book", "before", "after", "expected"),
    [
        pytest.param(
            COUNTS,
            "hit first",
            "hit priority",
            [
                "hit first -> hit priority: the first matching row wins "
                "under both, so no input changes (`hit first` also stops"
            ],
            id="first to priority",
        ),
        pytest.param(
            TABLE,
            "hit first",
            "hit collect max",
            [
                "hit first -> hit collect max: inputs matching both "
                "payer = UHC and any input: row 1's outputs -> the max of the matching rows' outputs"
            ],
            id="first to collect: where two rows overlap",
        ),
        pytest.param(
            COUNTS,
            "hit first",
            "hit collect",
            ["every input a row matches changes form: the outputs become a list of every matching row's"],
            id="collect without aggregation",
        ),
        pytest.param(
            COUNTS.replace("hit first", "hit collect max"),
            "hit collect max",
            "hit collect min",
            [
                "hit collect max -> hit collect min: inputs matching both service.count >= 10 lesions and "
                "service.count >= 12 lesions: the max of the matching rows' outputs -> the min of"
            ],
            id="max to min: only where rows overlap",
        ),
    ],
)
def test_a_change_of_hit_policy(book: str, before: str, after: str, expected: list[str]) -> None:
    sentences = [region.sentence for region in exact_regions(book, book.replace(before, after))]
    assert all(any(part in sentence for sentence in sentences) for part in expected), sentences


def test_rows_proved_apart_make_unique_and_collect_the_same() -> None:
    apart = COUNTS.replace(
        "| >= 12 lesions | 12 lesions |\n  | -             | 14 lesions |\n", "| < 10 lesions  | 12 lesions |\n"
    ).replace("hit first", "hit unique")
    (region,) = exact_regions(apart, apart.replace("hit unique", "hit collect max"))
    assert (
        region.sentence == "count-caps: hit unique -> hit collect max: no input matches two rows, so no input changes"
    )
