"""Comments stay where they were written: above an item, above a statement inside it, or at the
end of a statement's line, through formatting (which is still idempotent and meaning-preserving)."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.formatter import format_rulebook
from dsl.parser import parse

LIBRARY = sorted((Path(__file__).parents[2] / "rulebooks" / "library").glob("*.rules"))
SOURCES = [path.read_text(encoding="utf-8") for path in LIBRARY]

RULE = """rule ak-cap "AK cap"  # the payer's 2026 letter
  in policy
  # only destruction of AKs
  when service.kind = destruction
   # commercial plans only: Medicare has its own LCD
   and plan_type = commercial  # not Medicaid
  then
    # the cap
    cap lesions of service at 10 lesions  # AETNA's number
    if missing(service.prior_auth_number) then flag prior_auth_missing
    # with an authorization number on file
    else flag prior_auth_on_file
"""


def formatted(text: str) -> str:
    result = parse(text)
    assert result.ok, [d.message for d in result.diagnostics]
    return format_rulebook(result.rulebook)


def test_comments_inside_a_rule_stay_beside_their_statements() -> None:
    assert (
        formatted(RULE)
        == """rule ak-cap "AK cap"  # the payer's 2026 letter
  in policy
  # only destruction of AKs
  when service.kind = destruction
   # commercial plans only: Medicare has its own LCD
   and plan_type = commercial  # not Medicaid
  then
    # the cap
    cap lesions of service at 10 lesions  # AETNA's number
    if missing(service.prior_auth_number) then flag prior_auth_missing
    # with an authorization number on file
    else flag prior_auth_on_file
"""
    )


def test_a_comment_line_between_condition_lines_does_not_end_the_condition() -> None:
    with_comment = parse(RULE).rulebook
    without = parse(
        "\n".join(
            line.split("#")[0].rstrip()
            for line in RULE.splitlines()
            if line.strip() and not line.strip().startswith("#")
        )
        + "\n"
    ).rulebook
    assert with_comment == without


def test_comments_in_a_test_block_and_after_it() -> None:
    text = (
        'test "caps at 10" {\n  given { service.kind: destruction }\n  # the cap fires\n'
        "  expect flag a because ak-cap\n  # nothing else\n}\n# the end of the file\n"
    )
    assert formatted(text) == (
        'test "caps at 10" {\n  given {\n    service.kind: destruction\n  }\n'
        "  # the cap fires\n  expect flag a because ak-cap\n  # nothing else\n}\n\n"
        "# the end of the file\n"
    )


@st.composite
def commented(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A library rulebook with comments added on their own lines and at line ends."""
    lines = draw(st.sampled_from(SOURCES)).splitlines()
    marks: list[str] = []
    out: list[str] = []
    for number, line in enumerate(lines):
        choice = draw(st.sampled_from(["", "", "", "above", "end"]))
        if choice == "above":
            text = f"# c{number}"
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + text)
            marks.append(text)
        if choice == "end" and line.strip() and "#" not in line:
            text = f"# e{number}"
            out.append(f"{line}  {text}")
            marks.append(text)
        else:
            out.append(line)
    return "\n".join(out) + "\n", marks


@settings(max_examples=40, deadline=None)
@given(commented())
def test_added_comments_all_survive_and_format_is_idempotent(case: tuple[str, list[str]]) -> None:
    text, marks = case
    original = parse(text)
    assert original.ok, [d.message for d in original.diagnostics]
    once = format_rulebook(original.rulebook)
    again = parse(once)
    assert again.rulebook == original.rulebook
    assert format_rulebook(again.rulebook) == once
    assert sorted(re.findall(r"# [ce]\d+", once)) == sorted(marks)
