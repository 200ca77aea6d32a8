"""Reasons and flags built without the validator (`context.prevalidated`) are what validation
gives: same fields, same fields set, same JSON, over the whole corpus and a stacked run of the
bench mix (rule reasons as well as step reasons)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from benchmarks.bench_rulebook import bench_rulebook
from benchmarks.engine_bench import CODED_AT as BENCH_CODED_AT
from benchmarks.engine_bench import generate
from rulebooks.engine import code, context
from rulebooks.models import Coding
from rulebooks.models.coding import ClaimLine, Flag, HeldLine
from rulebooks.stack import library_stack
from tests.rulebooks.engine.engine_corpus import CODED_AT, load_cases


def _validated(model: type[BaseModel], fields: dict[str, Any], given: frozenset[str]) -> BaseModel:
    """What the builders did before `prevalidated`: validate the fields they name, whatever `given` says."""
    if model is context.Reason:
        names: tuple[str, ...] = ("step" if fields["rule"] is None else "rule", "message", "values")
    else:
        names = ("code", "detail", "service_ids", "reasons")
    return model.__pydantic_validator__.validate_python({name: fields[name] for name in names})


def _codings() -> list[Coding]:
    context.shared_step_reason.cache_clear()  # its reasons were built by the other way
    codings = [
        code(
            case.encounter,
            encounter_id=case.encounter.external_id,
            coded_at=CODED_AT,
            classifications=case.classifications,
            stack=case.stack,
        )
        for case in load_cases()
    ]
    stack = library_stack("National base", extra=[bench_rulebook()])
    codings += [
        code(encounter, encounter_id=encounter.external_id, coded_at=BENCH_CODED_AT, stack=stack)
        for encounter in generate(300, 7)
    ]
    return codings


def _parts(codings: list[Coding]) -> list[tuple[BaseModel, set[str]]]:
    """Every flag and reason, with its fields set (which `==` does not compare)."""
    parts: list[tuple[BaseModel, set[str]]] = []
    for coding in codings:
        parts.extend((flag, flag.__pydantic_fields_set__) for flag in coding.flags)
        items: list[Flag | ClaimLine | HeldLine] = [
            *coding.flags,
            *coding.claim_lines,
            *coding.self_pay_lines,
            *coding.held_lines,
        ]
        reasons = [reason for item in items for reason in item.reasons]
        parts.extend((reason, reason.__pydantic_fields_set__) for reason in reasons)
    return parts


def test_built_reasons_and_flags_equal_validated_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    built = _codings()
    with monkeypatch.context() as patched:
        patched.setattr(context, "prevalidated", _validated)
        validated = _codings()
    context.shared_step_reason.cache_clear()
    assert built == validated
    assert _parts(built) == _parts(validated)
    assert [coding.model_dump_json() for coding in built] == [coding.model_dump_json() for coding in validated]
    parts = _parts(built)
    assert sum(isinstance(part, Flag) for part, _ in parts) > 500
    assert {reason.rule is None for reason, _ in parts if isinstance(reason, context.Reason)} == {True, False}


def test_a_flag_does_not_share_the_service_ids_it_was_given() -> None:
    service_ids = ["s1"]
    flag = context.new_flag("edit_applied", context.step_reason("test", "why"), None, service_ids)
    service_ids.append("s2")
    assert flag.service_ids == ["s1"]
    assert context.new_flag("edit_applied", context.step_reason("test", "why"), None, None).service_ids == []
