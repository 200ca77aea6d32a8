"""The in-language test runner, with coverage measured on the AST, not on lines.

A test gives facts, runs the rulebook through a harness, and checks expectations against
what came out. Expectations are sentences: `expect flag x because rule-id` holds when an
observation starts with those words and, with `because`, was produced by that rule. The
plain harness observes fired actions; a domain harness (the coding engine) adds its own
observations such as `line 17000 units 1`. Coverage: each rule fired, each table row
matched, each condition seen both true and false.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dsl import ast
from dsl.checker import CheckResult
from dsl.compiler import Program
from dsl.runtime import DATE_OF_SERVICE, Decision, Trace, run_rules


@dataclass(frozen=True)
class Observation:
    words: tuple[str, ...]
    rule_ids: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class Run:
    """What a harness reports for one test input."""

    observations: tuple[Observation, ...]
    fired: tuple[str, ...]
    undetermined: tuple[str, ...] = ()


Harness = Callable[[Program, dict[str, Any], Trace], Run]


class GivenError(Exception):
    """A harness cannot run a test's `given` facts (they make no valid input for its domain): the
    message says which fact and why, and the test fails with it instead of a traceback."""


@dataclass(frozen=True)
class ExpectationResult:
    expectation: str
    passed: bool
    message: str
    line: int


@dataclass(frozen=True)
class TestResult:
    name: str
    passed: bool
    line: int
    expectations: tuple[ExpectationResult, ...]
    fired: tuple[str, ...]
    observed: tuple[str, ...]
    example: int | None = None  # the examples row, counted from 1

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "line": self.line,
            "example": self.example,
            "fired": list(self.fired),
            "observed": list(self.observed),
            "expectations": [e.__dict__ for e in self.expectations],
        }


@dataclass(frozen=True)
class Coverage:
    rules: dict[str, bool]
    rows: dict[str, bool]
    conditions: dict[str, tuple[bool, bool]]  # "line:column text" -> (seen true, seen false)

    @property
    def percent(self) -> float:
        points = len(self.rules) + len(self.rows) + 2 * len(self.conditions)
        if points == 0:
            return 100.0
        covered = (
            sum(self.rules.values())
            + sum(self.rows.values())
            + sum(int(t) + int(f) for t, f in self.conditions.values())
        )
        return round(100.0 * covered / points, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "percent": self.percent,
            "rules": self.rules,
            "rows": self.rows,
            "conditions": {k: {"true": t, "false": f} for k, (t, f) in self.conditions.items()},
        }


@dataclass(frozen=True)
class TestReport:
    results: tuple[TestResult, ...]
    coverage: Coverage

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "results": [r.to_json() for r in self.results],
            "coverage": self.coverage.to_json(),
        }


def plain_harness(program: Program, facts: dict[str, Any], trace: Trace) -> Run:
    """Every phase over the facts as given; observations are the fired actions.

    A test that gives `date_of_service` runs only the rules in effect on it; one that gives none
    runs every rule, whatever its dates.
    """
    decision = Decision()
    date_of_service = facts.get(DATE_OF_SERVICE)
    for phase in dict.fromkeys(rule.phase for rule in program.rules):
        rules = (*program.phase(phase), *program.phase(phase, "encounter"))
        if isinstance(date_of_service, dt.date):
            rules = tuple(rule for rule in rules if rule.in_effect(date_of_service))
        part = run_rules(rules, facts, trace=trace)
        decision.actions.extend(part.actions)
        decision.outcomes.extend(part.outcomes)
    observations = tuple(Observation(a.words, (a.rule_id,)) for a in decision.actions)
    return Run(
        observations, tuple(decision.fired()), tuple(o.rule_id for o in decision.outcomes if o.status == "undetermined")
    )


def run_tests(checked: CheckResult, program: Program, harness: Harness = plain_harness) -> TestReport:
    trace = Trace(outcomes={}, rows=set())
    results: list[TestResult] = []
    fired_anywhere: set[str] = set()
    for test in checked.rulebook.of_type(ast.Test):
        base = facts_of(test.given, checked)
        cases: list[tuple[int | None, dict[str, Any], tuple[ast.Expectation, ...]]] = []
        if test.expectations or not test.examples:
            cases.append((None, base, test.expectations))
        for number, example in enumerate(test.examples, 1):
            cases.append((number, merge(base, facts_of(example.facts, checked)), example.expectations))
        for case_number, facts, expectations in cases:
            try:
                run = harness(program, facts, trace)
            except GivenError as error:
                checks = tuple(
                    ExpectationResult(_shown(e), False, f"the test's facts cannot run: {error}", e.span.line)
                    for e in expectations
                ) or (ExpectationResult("", False, f"the test's facts cannot run: {error}", test.span.line),)
                results.append(TestResult(test.name, False, test.span.line, checks, (), (), case_number))
                continue
            fired_anywhere.update(run.fired)
            checks = tuple(judge(e, run) for e in expectations)
            results.append(
                TestResult(
                    test.name,
                    all(c.passed for c in checks),
                    test.span.line,
                    checks,
                    run.fired,
                    tuple(o.text for o in run.observations),
                    case_number,
                )
            )
    return TestReport(tuple(results), coverage(checked, trace, fired_anywhere))


def _shown(expectation: ast.Expectation) -> str:
    from dsl.formatter import expectation as show

    return show(expectation)


def judge(expectation: ast.Expectation, run: Run) -> ExpectationResult:
    words = tuple(w for word in expectation.words for w in _word_text(word).split())
    matching = [o for o in run.observations if o.words[: len(words)] == words]
    text = _shown(expectation)
    if expectation.negated and expectation.because:
        matching = [o for o in matching if expectation.because in o.rule_ids]
    if expectation.negated:
        if matching:
            rules = sorted({r for o in matching for r in o.rule_ids})
            return ExpectationResult(
                text,
                False,
                f"expected no `{' '.join(words)}`, but got `{matching[0].text}`"
                + (f" from {', '.join(rules)}" if rules else ""),
                expectation.span.line,
            )
        return ExpectationResult(text, True, "", expectation.span.line)
    if not matching:
        similar = [o.text for o in run.observations if o.words[:1] == words[:1]]
        actual = "; ".join(similar) if similar else "nothing like it"
        return ExpectationResult(text, False, f"expected `{' '.join(words)}`, got {actual}", expectation.span.line)
    if expectation.because:
        by = [o for o in matching if expectation.because in o.rule_ids]
        if not by:
            rules = sorted({r for o in matching for r in o.rule_ids}) or ["no rule (a coding step)"]
            return ExpectationResult(
                text,
                False,
                f"`{' '.join(words)}` came from {', '.join(rules)}, not from {expectation.because}",
                expectation.span.line,
            )
    return ExpectationResult(text, True, "", expectation.span.line)


def _word_text(word: ast.Expr) -> str:
    """An expectation's word as observations spell it: a text (`query provider "..."`) without
    its quotes, as the fired action's words hold it once filled in."""
    from dsl.formatter import word as show

    if isinstance(word, ast.Literal) and word.kind == "string":
        return word.text
    return show(word)


def facts_of(fields: tuple[ast.RecordField, ...], checked: CheckResult) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for record_field in fields:
        target = facts
        *parents, last = record_field.path.parts
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value_of(record_field.value, checked)
    return facts


def value_of(node: ast.Expr, checked: CheckResult) -> Any:
    constants = checked.typer.constants
    if id(node) in constants:
        return constants[id(node)]
    if isinstance(node, ast.Record):
        return facts_of(node.fields, checked)
    if isinstance(node, ast.ListExpr):
        return [value_of(item, checked) for item in node.items]
    if isinstance(node, ast.Path) and node.dotted == "missing":
        return None
    if isinstance(node, ast.Path):
        return node.dotted
    if isinstance(node, ast.Literal):
        return node.text
    return None


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def coverage(checked: CheckResult, trace: Trace, fired: set[str]) -> Coverage:
    rules: dict[str, bool] = {}
    rows: dict[str, bool] = {}
    conditions: dict[str, tuple[bool, bool]] = {}
    outcomes = trace.outcomes or {}
    for item in checked.rulebook.items:
        if isinstance(item, ast.Rule | ast.Table):
            # Reached only when this rule's own condition was evaluated: a rule of the same id in
            # a book it extends may have fired instead (this one out of effect on the date).
            guard = _atoms(item, actions=False)
            rules[item.id] = item.id in fired and (not guard or any(id(node) in outcomes for node in guard))
            for node in _atoms(item):
                seen = outcomes.get(id(node), set())
                conditions[f"{item.id} line {node.span.line}:{node.span.column}"] = (True in seen, False in seen)
        if isinstance(item, ast.Table):
            for number, row in enumerate(item.rows, 1):
                rows[f"{item.id} row {number} (line {row.span.line})"] = (item.id, number) in (trace.rows or set())
    return Coverage(rules, rows, conditions)


def _atoms(item: ast.Rule | ast.Table, *, actions: bool = True) -> list[ast.Expr]:
    """The tests of a rule's condition (a table's guard) and, with `actions`, of its `if`s."""
    found: list[ast.Expr] = []

    def visit(node: Any) -> None:
        if isinstance(node, ast.Compare | ast.Member | ast.Quantified) or (
            isinstance(node, ast.Call) and node.function in ("missing", "present")
        ):
            found.append(node)
            if isinstance(node, ast.Quantified):
                visit(node.condition)
            return
        if isinstance(node, ast.BoolOp):
            for operand in node.operands:
                visit(operand)
        elif isinstance(node, ast.Not):
            visit(node.operand)
        elif isinstance(node, ast.Conditional):
            visit(node.condition)
            for step in (*node.then, *node.otherwise):
                visit(step)

    visit(item.condition if isinstance(item, ast.Rule) else item.guard)
    if actions:
        for step in item.actions:
            visit(step)
    return found


__all__ = ["Coverage", "GivenError", "Harness", "Observation", "Run", "TestReport", "TestResult", "field", "run_tests"]
