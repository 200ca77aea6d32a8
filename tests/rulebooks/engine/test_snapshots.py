"""Golden files of the full explained coding (lines, modifiers, pointers, reasons, flags) for the corpus.

The hand-checked expectations in test_corpus.py say what is right; these snapshots catch any
change in the explanation itself. Update with `pytest --snapshot-update` after reviewing the diff.
"""

from __future__ import annotations

import pytest

from rulebooks.engine import code
from tests.rulebooks.engine.engine_corpus import CODED_AT, Case, load_cases


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in load_cases()])
def test_explained_coding_matches_the_golden_file(case: Case, snapshot) -> None:
    coding = code(
        case.encounter,
        encounter_id=case.encounter.external_id,
        coded_at=CODED_AT,
        classifications=case.classifications,
        preferences=case.preferences,
    )
    assert coding.model_dump(mode="json") == snapshot
