"""Compile a checked rulebook into Python closures, built once and run many times.

Each expression becomes a function `(facts, trace) -> value`; `trace` is None on the fast
path and a `Trace` when a decision must explain itself. The order of rules is the order
of the text, so a run is deterministic.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dsl import ast
from dsl.checker import CheckResult
from dsl.runtime import CompiledRule, Decision, FiredAction, RuleOutcome, Trace
from dsl.typecheck import INTERPOLATION

Fn = Callable[[dict[str, Any], "Trace | None"], Any]
# The nodes that the checker may have folded into a constant (AST classes have no subclasses).
CONSTANT_NODES = frozenset({ast.Literal, ast.ListExpr, ast.Union, ast.CodeRange})
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Program:
    """A compiled rulebook: its rules by phase, ready to evaluate facts."""

    name: str
    version: str
    header: ast.Header | None
    rules: tuple[CompiledRule, ...]
    criteria: tuple[ast.Criteria, ...] = ()

    def phase(self, phase: str, scope: str | None = None) -> tuple[CompiledRule, ...]:
        """The phase's rules of one scope: those run for each service (None) or for the encounter."""
        return tuple(rule for rule in self.rules if rule.phase == phase and rule.scope == scope)


def compile_rulebook(checked: CheckResult, version: str = "") -> Program:
    compiler = Compiler(checked)
    rules: list[CompiledRule] = []
    for item in checked.rulebook.items:
        if isinstance(item, ast.Rule):
            rules.append(compiler.rule(item))
        elif isinstance(item, ast.Table):
            rules.append(compiler.table(item))
    header = checked.rulebook.header
    return Program(
        header.name if header else "", version, header, tuple(rules), tuple(checked.rulebook.of_type(ast.Criteria))
    )


def dates_of(node: ast.Rule | ast.Table) -> tuple[dt.date | None, dt.date | None]:
    """A rule's or table's own dates as dates (the checker has seen they are on the calendar)."""
    from_text, until_text = node.effective_from, node.effective_until
    return (
        None if from_text is None else dt.date.fromisoformat(from_text),
        None if until_text is None else dt.date.fromisoformat(until_text),
    )


class Compiler:
    def __init__(self, checked: CheckResult) -> None:
        self.checked = checked
        self.constants = checked.typer.constants
        self.references = checked.typer.references

    # ---- rules --------------------------------------------------------------------------------

    def rule(self, rule: ast.Rule) -> CompiledRule:
        condition = self.expr(rule.condition) if rule.condition is not None else (lambda facts, trace: True)
        steps = self.steps(rule.actions, rule.id, rule.label)
        rule_id, label, span = rule.id, rule.label, rule.span

        def run(facts: dict[str, Any], trace: Trace | None, decision: Decision) -> None:
            result = condition(facts, trace)
            if result is True:
                fired: list[FiredAction] = []
                steps(facts, trace, fired)
                decision.actions.extend(fired)
                if trace is not None:
                    decision.outcomes.append(
                        RuleOutcome(
                            rule_id, label, span, "fired", dict(trace.values), tuple(trace.missing), tuple(fired)
                        )
                    )
            elif result is None and trace is not None:
                decision.outcomes.append(
                    RuleOutcome(rule_id, label, span, "undetermined", dict(trace.values), tuple(trace.missing))
                )

        return CompiledRule(rule.id, rule.label, rule.phase, rule.span, run, *dates_of(rule), scope=rule.scope)

    def steps(self, steps: tuple[ast.Step, ...], rule_id: str, label: str) -> Callable[..., None]:
        compiled: list[Callable[..., None]] = [self.step(step, rule_id, label) for step in steps]

        def run(facts: dict[str, Any], trace: Trace | None, fired: list[FiredAction]) -> None:
            for step in compiled:
                step(facts, trace, fired)

        return run

    def step(self, step: ast.Step, rule_id: str, label: str) -> Callable[..., None]:
        if isinstance(step, ast.Conditional):
            condition = self.expr(step.condition)
            then = self.steps(step.then, rule_id, label)
            otherwise = self.steps(step.otherwise, rule_id, label)

            def conditional(facts: dict[str, Any], trace: Trace | None, fired: list[FiredAction]) -> None:
                result = condition(facts, trace)
                if result is True:
                    then(facts, trace, fired)
                elif result is False:
                    otherwise(facts, trace, fired)

            return conditional
        bound = self.checked.actions[id(step)]
        arguments = [(name, self.argument(value)) for name, value in bound.arguments]
        name, span, spec = bound.spec.name, step.span, bound.spec

        def action(facts: dict[str, Any], trace: Trace | None, fired: list[FiredAction]) -> None:
            values = {argument: evaluate(facts, trace) for argument, evaluate in arguments}
            fired.append(FiredAction(name, values, rule_id, label, span, spec))

        return action

    def argument(self, value: ast.Expr) -> Fn:
        if isinstance(value, ast.Literal) and value.kind == "string" and INTERPOLATION.search(value.text):
            text = value.text
            getters = {m.group(1): self.field(m.group(1)) for m in INTERPOLATION.finditer(text)}

            def interpolate(facts: dict[str, Any], trace: Trace | None) -> str:
                def fill(match: re.Match[str]) -> str:
                    found = getters[match.group(1)](facts, None)
                    return "the documented site" if found is None else str(found)

                return INTERPOLATION.sub(fill, text)

            return interpolate
        return self.expr(value)

    # ---- tables ---------------------------------------------------------------------------------

    def table(self, table: ast.Table) -> CompiledRule:
        guard = self.expr(table.guard) if table.guard is not None else None
        columns = [(self.expr(column), _name(column)) for column in table.inputs]
        rows = []
        for number, row in enumerate(table.rows, 1):
            tests = [
                (index, _cell_test(cell, self.constants))
                for index, cell in enumerate(row.inputs)
                if isinstance(cell, ast.CellTest)
            ]
            outputs = {
                name: (None if value is None else self.constants.get(id(value)))
                for name, value in zip(table.outputs, row.outputs, strict=True)
            }
            rows.append((number, tests, outputs))
        steps = self.steps(table.actions, table.id, table.label)
        policy, aggregation = table.hit_policy, table.aggregation
        table_id, label, span = table.id, table.label, table.span

        def run(facts: dict[str, Any], trace: Trace | None, decision: Decision) -> None:
            if guard is not None and guard(facts, trace) is not True:
                return
            values = [evaluate(facts, trace) for evaluate, _ in columns]
            if trace is not None:
                for value, (_, column_name) in zip(values, columns, strict=True):
                    if column_name is not None:
                        trace.saw(column_name, value)
            matched: list[tuple[int, dict[str, Any]]] = []
            undetermined = False
            for number, tests, outputs in rows:
                result: bool | None = True
                for index, test in tests:
                    value = values[index]
                    outcome = None if value is None else test(value)
                    if outcome is False:
                        result = False
                        break
                    if outcome is None:
                        result = None
                if result is True:
                    matched.append((number, outputs))
                    if trace is not None and trace.rows is not None:
                        trace.rows.add((table_id, number))
                    if policy in ("first", "unique", "priority"):
                        break
                elif result is None:
                    undetermined = True
                    if policy == "first":
                        break
            if not matched:
                if undetermined and trace is not None:
                    decision.outcomes.append(
                        RuleOutcome(table_id, label, span, "undetermined", dict(trace.values), tuple(trace.missing))
                    )
                return
            outputs = _combine(matched, aggregation) if policy == "collect" else matched[0][1]
            scope = {**facts, **outputs}
            fired: list[FiredAction] = []
            steps(scope, trace, fired)
            decision.actions.extend(fired)
            if not table.actions:
                fired.append(FiredAction("decide", outputs, table_id, label, span))
                decision.actions.append(fired[-1])
            if trace is not None:
                row_number = matched[0][0] if len(matched) == 1 else None
                decision.outcomes.append(
                    RuleOutcome(
                        table_id,
                        label,
                        span,
                        "fired",
                        {**trace.values, **outputs},
                        tuple(trace.missing),
                        tuple(fired),
                        row_number,
                    )
                )

        return CompiledRule(table.id, table.label, table.phase, table.span, run, *dates_of(table))

    # ---- expressions ----------------------------------------------------------------------------

    def expr(self, expr: ast.Expr) -> Fn:
        if type(expr) in CONSTANT_NODES and id(expr) in self.constants:  # cheaper than isinstance of a union
            constant = self.constants[id(expr)]
            return lambda facts, trace: constant
        if isinstance(expr, ast.Path):
            return self.path(expr)
        if isinstance(expr, ast.Compare):
            return self.compare(expr)
        if isinstance(expr, ast.BoolOp):
            return self.bool_op(expr)
        if isinstance(expr, ast.Not):
            operand = self.expr(expr.operand)

            def negate(facts: dict[str, Any], trace: Trace | None) -> bool | None:
                result = operand(facts, trace)
                return None if result is None else not result

            return negate
        if isinstance(expr, ast.Member):
            return self.member(expr)
        if isinstance(expr, ast.Call):
            return self.call(expr)
        if isinstance(expr, ast.Quantified):
            return self.quantified(expr)
        if isinstance(expr, ast.ListExpr):
            items = [self.expr(item) for item in expr.items]
            return lambda facts, trace: [item(facts, trace) for item in items]
        raise ValueError(f"cannot compile {type(expr).__name__}")  # pragma: no cover - the checker rejects it

    def field(self, dotted: str) -> Fn:
        parts = dotted.split(".")
        if len(parts) == 1:
            key = parts[0]
            return lambda facts, trace: facts.get(key)
        if len(parts) == 2:
            first, second = parts

            def two(facts: dict[str, Any], trace: Trace | None) -> Any:
                inner = facts.get(first)
                return None if inner is None else inner.get(second)

            return two

        def walk(facts: dict[str, Any], trace: Trace | None) -> Any:
            value: Any = facts
            for part in parts:
                value = value.get(part) if isinstance(value, dict) else None
                if value is None:
                    return None
            return value

        return walk

    def path(self, path: ast.Path) -> Fn:
        reference = self.references.get(id(path))
        if reference is None or reference[0] == "valueset":
            constant = self.constants.get(id(path))
            return lambda facts, trace: constant
        if reference[0] == "field":
            return self.field(reference[1])
        if reference[0] == "output":
            return self.field(reference[1])
        else:  # a variable bound by `any x in ...`
            return self.field(".".join((reference[1], *reference[2])))

    def name(self, expr: ast.Expr) -> str | None:
        """The fact's name to show in a trace; None for constants and value sets."""
        reference = self.references.get(id(expr))
        if isinstance(expr, ast.Path) and reference is not None and reference[0] != "valueset":
            return expr.dotted
        return None

    def bool_op(self, expr: ast.BoolOp) -> Fn:
        operands = [self.expr(operand) for operand in expr.operands]
        stop = expr.op == "or"  # the value that decides the whole: True for `or`, False for `and`

        def combine(facts: dict[str, Any], trace: Trace | None) -> bool | None:
            undetermined = False
            for operand in operands:
                result = operand(facts, trace)
                if result is stop:
                    return stop
                if result is None:
                    undetermined = True
            return None if undetermined else not stop

        return combine

    def compare(self, expr: ast.Compare) -> Fn:
        left, right = self.expr(expr.left), self.expr(expr.right)
        op = OPERATORS[expr.op]
        names = (self.name(expr.left), self.name(expr.right))
        node_id = id(expr)

        def compare(facts: dict[str, Any], trace: Trace | None) -> bool | None:
            a = left(facts, trace)
            b = right(facts, trace)
            result = None if a is None or b is None else op(a, b)
            if trace is not None:
                _see(trace, names, expr, a, b)
                trace.outcome(node_id, result)
            return result

        return compare

    def member(self, expr: ast.Member) -> Fn:
        element, collection = self.expr(expr.element), self.expr(expr.collection)
        test = expr.test
        names = (self.name(expr.element), self.name(expr.collection))
        node_id = id(expr)

        def member(facts: dict[str, Any], trace: Trace | None) -> bool | None:
            value = element(facts, trace)
            pool = collection(facts, trace)
            if trace is not None:
                _see(trace, names, expr, value, pool)
            if value is None or pool is None:
                result = None
            elif test == "in":
                result = value in pool
            elif test == "not in":
                result = value not in pool
            elif test == "any in":
                result = any(item in pool for item in value)
            elif test == "all in":
                result = bool(value) and all(item in pool for item in value)
            else:
                result = not any(item in pool for item in value)
            if trace is not None:
                trace.outcome(node_id, result)
            return result

        return member

    def call(self, call: ast.Call) -> Fn:
        if isinstance(call.args[0], ast.Quantified):  # count(each x in xs: condition)
            return self.quantified(call.args[0])
        argument = self.expr(call.args[0])
        function = call.function
        name = _name(call.args[0])
        node_id = id(call)

        def evaluate(facts: dict[str, Any], trace: Trace | None) -> Any:
            value = argument(facts, trace)
            if function == "count":
                return None if value is None else len(value)
            result = value is None if function == "missing" else value is not None
            if trace is not None:
                trace.values[f"{function}({name})"] = result
                trace.outcome(node_id, result)
            return result

        return evaluate

    def quantified(self, expr: ast.Quantified) -> Fn:
        collection = self.expr(expr.collection)
        condition = self.expr(expr.condition)
        variable, quantifier, node_id = expr.variable, expr.quantifier, id(expr)

        def quantified(facts: dict[str, Any], trace: Trace | None) -> bool | int | None:
            items = collection(facts, trace)
            if items is None:
                return None
            results = []
            for item in items:
                scope = dict(facts)
                scope[variable] = item
                results.append(condition(scope, trace))
            if quantifier == "each":  # how many meet it; unknown when one is undetermined
                return None if None in results else results.count(True)
            if quantifier == "any":
                result = True if True in results else (None if None in results else False)
            elif quantifier == "all":
                result = False if False in results else (None if None in results else True)
            else:
                result = False if True in results else (None if None in results else True)
            if trace is not None:
                trace.outcome(node_id, result)
            return result

        return quantified


def _see(trace: Trace, names: tuple[str | None, str | None], expr: Any, a: Any, b: Any) -> None:
    for name, value in zip(names, (a, b), strict=True):
        if name is not None:
            trace.saw(name, value)


def _name(expr: ast.Expr) -> str | None:
    return expr.dotted if isinstance(expr, ast.Path) else None


def _cell_test(cell: ast.CellTest, constants: dict[int, Any]) -> Callable[[Any], bool]:
    expected: Any = constants.get(id(cell.value))
    if cell.op == "in":
        return lambda value: value in expected if not isinstance(value, list) else any(v in expected for v in value)
    if cell.op == "not in":
        return lambda value: value not in expected
    op = OPERATORS[cell.op]
    return lambda value: op(value, expected)


def _combine(matched: list[tuple[int, dict[str, Any]]], aggregation: str | None) -> dict[str, Any]:
    combined: dict[str, Any] = {}
    names = matched[0][1].keys()
    for name in names:
        values = [outputs[name] for _, outputs in matched if outputs.get(name) is not None]
        if aggregation == "min":
            combined[name] = min(values) if values else None
        elif aggregation == "max":
            combined[name] = max(values) if values else None
        elif aggregation == "sum":
            combined[name] = sum(values)
        elif aggregation == "count":
            combined[name] = len(values)
        else:
            combined[name] = values
    return combined
