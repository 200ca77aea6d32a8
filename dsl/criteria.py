"""Evaluate prior-authorization criteria blocks: each labelled requirement met, unmet or undetermined.

A criteria block names a drug, the indications it covers and the requirements a payer form
lists, each with the label the form shows. Missing documentation makes a requirement
undetermined (what to ask for), never unmet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dsl import ast
from dsl.checker import CheckResult
from dsl.compiler import Compiler
from dsl.runtime import Trace


@dataclass(frozen=True)
class RequirementResult:
    label: str
    status: str  # met | unmet | undetermined
    values: dict[str, Any]
    missing: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class CriteriaResult:
    criteria_id: str
    label: str
    drug: str
    indicated: bool | None
    requirements: tuple[RequirementResult, ...]
    approve_for: str | None
    reauthorize_for: str | None

    @property
    def status(self) -> str:
        """approvable when indicated and every requirement is met; else what is missing or unmet."""
        if self.indicated is False or any(r.status == "unmet" for r in self.requirements):
            return "not_met"
        if self.indicated is None or any(r.status == "undetermined" for r in self.requirements):
            return "needs_documentation"
        return "met"


def evaluate_criteria(
    checked: CheckResult, criteria_id: str, facts: dict[str, Any], diagnoses_fact: str = "diagnoses"
) -> CriteriaResult:
    """Evaluate one criteria block of a checked rulebook over the facts."""
    criteria = next(c for c in checked.rulebook.of_type(ast.Criteria) if c.id == criteria_id)
    compiler = Compiler(checked)
    indications = checked.typer.constants.get(id(criteria.indication))
    diagnoses = facts.get(diagnoses_fact)
    indicated = None if diagnoses is None or indications is None else any(d in indications for d in diagnoses)
    results = []
    for requirement in criteria.requirements:
        trace = Trace()
        outcome = compiler.expr(requirement.condition)(facts, trace)
        status = {True: "met", False: "unmet"}.get(outcome, "undetermined")
        results.append(
            RequirementResult(
                requirement.label, status, dict(trace.values), tuple(trace.missing), requirement.span.line
            )
        )
    return CriteriaResult(
        criteria.id,
        criteria.label,
        criteria.drug,
        indicated,
        tuple(results),
        criteria.approve_for,
        criteria.reauthorize_for,
    )
