"""Coding again without reading the note: what the note analysis decided for an encounter version
is kept (`Analysis`), and a replay codes the encounter under other rules from it.

Why: a rule change is judged on the clinic's stored encounters (impact replay, the reviewer's
behavioural diff, shadow mode). Reading 100,000 notes again would take minutes of CPU; the rules
only need what the reading found: each service's classification with its reason and query, and
its findings. `code_again` with the analysis gives the same Coding as `code_encounter` did
(tests/rulebooks/test_replay.py holds it to that).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rulebooks.clinic_stack import StackSources, build_stack
from rulebooks.coding import CodedEncounter, documentation_reason
from rulebooks.coding_diff import CodingDiff, Impact, coding_diff
from rulebooks.engine.context import ClassificationNote, FeeSchedules
from rulebooks.engine.pipeline import code
from rulebooks.models import Coding, Encounter, Reason
from rulebooks.stack import Stack


def analysis_of(coded: CodedEncounter) -> dict[str, Any]:
    """What the note analysis decided for an encounter, as JSON to store with its version."""
    documentation = coded.documentation
    findings = coded.stack.findings if coded.stack is not None else {}
    return {
        "classifications": {sid: c.category for sid, c in documentation.classifications.items()},
        "notes": {
            sid: {
                "reason": documentation_reason(c).model_dump(mode="json"),
                "query": c.query.text if c.query else None,
            }
            for sid, c in documentation.classifications.items()
        },
        "findings": {sid: list(values) for sid, values in findings.items()},
    }


def code_again(
    encounter: Encounter,
    analysis: dict[str, Any],
    stack: Stack,
    *,
    encounter_id: str,
    coded_at: dt.datetime,
    fees: FeeSchedules | None,
    notes: dict[str, ClassificationNote] | None = None,
) -> Coding:
    """The encounter coded with `stack` from its stored analysis: no note is read. `notes` are the
    analysis's classification notes when already built (a replay codes each encounter twice)."""
    return code(
        encounter,
        encounter_id=encounter_id,
        coded_at=coded_at,
        fees=fees,
        stack=stack.observed(findings=analysis["findings"]),
        classifications=analysis["classifications"],
        classification_notes=classification_notes(analysis) if notes is None else notes,
    )


def classification_notes(analysis: dict[str, Any]) -> dict[str, ClassificationNote]:
    return {
        sid: ClassificationNote(reason=Reason.model_validate(note["reason"]), query=note["query"])
        for sid, note in analysis["notes"].items()
    }


@dataclass(frozen=True)
class Replayed:
    """One stored encounter version to replay: its payload and note analysis as stored (JSON text:
    the worker process parses them, not the process that read them), and the keys of the stacks
    it is coded with today (baseline) and with the draft (candidate)."""

    encounter_id: str
    payload: str
    analysis: str
    baseline_key: tuple[str, ...]
    candidate_key: tuple[str, ...]


def replay_batch(
    items: Sequence[Replayed], stacks: dict[tuple[str, ...], StackSources], coded_at: dt.datetime, fees: FeeSchedules
) -> dict[str, Any]:
    """Each encounter coded under its baseline and its candidate stack, the differences summed
    (`Impact`, as JSON); an encounter whose candidate stack is its baseline is counted unchanged
    without coding it twice. Both are coded now, with today's fees and code sets, so only the
    rules differ. Runs in a worker process: plain data in, plain data out."""
    impact = Impact()
    for item in items:
        encounter = Encounter.model_validate_json(item.payload)
        analysis = json.loads(item.analysis)
        notes = classification_notes(analysis)

        codings: dict[tuple[str, ...], Coding] = {}
        for key in (item.baseline_key, item.candidate_key):
            if key not in codings:  # the candidate is the baseline when the draft is not a layer here
                codings[key] = code_again(
                    encounter,
                    analysis,
                    build_stack(stacks[key]),
                    encounter_id=item.encounter_id,
                    coded_at=coded_at,
                    fees=fees,
                    notes=notes,
                )
        compare(impact, encounter, item.encounter_id, codings[item.baseline_key], codings[item.candidate_key])
    return impact.to_dict()


def compare(impact: Impact, encounter: Encounter, encounter_id: str, before: Coding, after: Coding) -> CodingDiff:
    """Two codings of one encounter compared and counted in `impact` (per its payer), the encounter
    kept as an example when they differ; the comparison is returned."""
    diff = coding_diff(before, after)
    example = {
        "encounter_id": encounter_id,
        "payer": encounter.coverage.payer,
        "date_of_service": encounter.date_of_service.isoformat(),
    }
    impact.add(encounter.coverage.payer, diff, example)
    return diff
