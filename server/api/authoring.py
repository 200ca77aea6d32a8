"""The rule editor's operations: validate, format, test and explain a rulebook text; the vocabulary.

All are pure functions of the text (and, for explain, an encounter), run in the app's CPU pool by
server/rulebook_drafts.py, never on the event loop; nothing is stored. Diagnostics
share one shape with the CLI: line/column from 1 and code-point offsets from 0.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server import rulebook_drafts
from server.api import types
from server.api.common import InvalidInput, NotFoundError, context, refused, require
from server.api.ids import from_global_id
from server.api.inputs import EncounterInput, to_payload
from server.errors import InputInvalid, NotFound
from tenants.roles import Permission


@strawberry.type(description="One problem in a rulebook text, where and why, with a hint when there is one.")
class Diagnostic:
    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int
    severity: str
    code: str
    message: str
    hint: str | None


def diagnostic(raw: dict[str, Any]) -> Diagnostic:
    return Diagnostic(
        line=raw["line"],
        column=raw["column"],
        end_line=raw["range"]["end"]["line"] + 1,
        end_column=raw["range"]["end"]["character"] + 1,
        start=raw["start"],
        end=raw["end"],
        severity=raw["severity"],
        code=raw["code"],
        message=raw["message"],
        hint=raw.get("hint"),
    )


@strawberry.type
class FormatResult:
    text: str | None = strawberry.field(description="The canonical text; null when the rulebook does not parse.")
    changed: bool
    diagnostics: list[Diagnostic]


@strawberry.type
class ExpectationResult:
    expectation: str
    passed: bool
    message: str
    line: int | None


@strawberry.type
class RuleTestResult:
    name: str
    passed: bool
    line: int | None
    example: int | None
    fired: list[str]
    observed: list[str]
    expectations: list[ExpectationResult]


@strawberry.type
class RuleCoverage:
    percent: float
    uncovered_rules: list[str]
    rules: JSON
    rows: JSON
    conditions: JSON


@strawberry.type
class TestReport:
    passed: bool
    results: list[RuleTestResult]
    coverage: RuleCoverage | None
    diagnostics: list[Diagnostic]


@strawberry.type
class TraceEntry:
    rule: str
    label: str
    status: str
    line: int
    column: int
    values: JSON
    missing: list[str]
    row: int | None
    actions: list[str]


@strawberry.type
class ExplainResult:
    coding: types.Coding | None
    trace: list[TraceEntry]
    diagnostics: list[Diagnostic]


ExplainRulebookResult = Annotated[
    ExplainResult | InvalidInput | NotFoundError, strawberry.union("ExplainRulebookResult")
]


def _report(raw: dict[str, Any]) -> TestReport:
    coverage = raw.get("coverage")
    return TestReport(
        passed=raw["passed"],
        results=[
            RuleTestResult(
                name=r["name"],
                passed=r["passed"],
                line=r.get("line"),
                example=r.get("example"),
                fired=list(r.get("fired", [])),
                observed=list(r.get("observed", [])),
                expectations=[
                    ExpectationResult(
                        expectation=e["expectation"],
                        passed=e["passed"],
                        message=e.get("message", ""),
                        line=e.get("line"),
                    )
                    for e in r.get("expectations", [])
                ],
            )
            for r in raw.get("results", [])
        ],
        coverage=RuleCoverage(
            percent=coverage["percent"],
            uncovered_rules=sorted(rule for rule, hit in coverage.get("rules", {}).items() if not hit),
            rules=coverage.get("rules", {}),
            rows=coverage.get("rows", {}),
            conditions=coverage.get("conditions", {}),
        )
        if coverage
        else None,
        diagnostics=[diagnostic(d) for d in raw.get("diagnostics", [])],
    )


@strawberry.type
class AuthoringQueries:
    @strawberry.field(description="Every diagnostic of a rulebook text (errors and warnings), for the editor.")
    async def validate_rulebook(self, info: Info, text: str) -> list[Diagnostic]:
        require(info, Permission.RULEBOOKS_READ)
        return [diagnostic(d) for d in await rulebook_drafts.diagnose(context(info).services.cpu, text)]

    @strawberry.field(description="The canonical formatting of a rulebook text (the formatter has no options).")
    async def format_rulebook(self, info: Info, text: str) -> FormatResult:
        require(info, Permission.RULEBOOKS_READ)
        result = await rulebook_drafts.format_text(context(info).services.cpu, text)
        return FormatResult(
            text=result["text"], changed=result["changed"], diagnostics=[diagnostic(d) for d in result["diagnostics"]]
        )

    @strawberry.field(description="Run the rulebook's own tests: pass/fail, expected vs actual, fired rules, coverage.")
    async def test_rulebook(self, info: Info, text: str) -> TestReport:
        require(info, Permission.RULEBOOKS_READ)
        return _report(await rulebook_drafts.run_tests(context(info).services.cpu, text))

    @strawberry.field(description="Try a rulebook text on an encounter (given inline, or one of your clinic's by id).")
    async def explain_rulebook(
        self, info: Info, text: str, encounter: EncounterInput | None = None, encounter_id: strawberry.ID | None = None
    ) -> ExplainRulebookResult:
        ctx = context(info)
        principal = require(info, Permission.RULEBOOKS_READ)
        stored = None
        if encounter_id is not None:
            stored = rulebook_drafts.StoredEncounter(from_global_id(str(encounter_id), "Encounter"))
            if encounter is None:
                require(info, Permission.ENCOUNTERS_READ)
        try:  # takes the session in turns: never held while the rules run in the CPU pool
            explained = await rulebook_drafts.explain(
                ctx,
                ctx.services.cpu,
                ctx.services.fee_cache,
                principal.tenant_id,
                text,
                to_payload(encounter) if encounter is not None else None,
                stored,
            )
        except (InputInvalid, NotFound) as error:
            return refused(error)
        if explained.encounter_read is not None:
            async with ctx.lock:
                await ctx.audit(
                    "encounter.explain", "phi_read", object_type="Encounter", object_ids=[explained.encounter_read]
                )
        return ExplainResult(
            coding=types.coding_type(explained.coding, explained.external_id) if explained.coding else None,
            trace=[
                TraceEntry(
                    rule=t["rule"],
                    label=t["label"],
                    status=t["status"],
                    line=t["line"],
                    column=t["column"],
                    values=t["values"],
                    missing=t["missing"],
                    row=t.get("row"),
                    actions=t["actions"],
                )
                for t in explained.trace
            ],
            diagnostics=[diagnostic(d) for d in explained.diagnostics],
        )

    @strawberry.field(description="Fields, actions, value sets, units and keywords: highlighting and completion.")
    def rule_vocabulary(self, info: Info) -> JSON:
        require(info, Permission.RULEBOOKS_READ)
        return cast(JSON, rulebook_drafts.vocabulary())
