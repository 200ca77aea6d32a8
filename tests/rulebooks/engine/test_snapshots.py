"""Golden files of the full explained coding (lines, modifiers, pointers, reasons, flags) for the corpus.

The hand-checked expectations in test_corpus.py say what is right; these snapshots catch any
change in the explanation itself. The corpus runs on the national base (`corpus_stack`): the payer
decisions the engine's passes act on (XS, 25, G2211, liability) are its rules, and a line they
shaped names the rule beside the pass. Update with `pytest --snapshot-update` after reviewing the diff.
"""

from __future__ import annotations

from typing import Any

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
        stack=case.stack,
    )
    # The books' versions change with every edit of the national base: the coding names them
    # (checked here), and the golden file holds what they decided, each rule named by book and id.
    assert coding.rulebooks == case.stack.refs
    assert _without_versions(coding.model_dump(mode="json", exclude={"rulebooks", "releases"})) == snapshot


def _without_versions(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: "<version>" if key == "version" else _without_versions(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_versions(item) for item in value]
    return value
