"""Plain-text rendering of a Coding for the terminal."""

from __future__ import annotations

from typing import Any

from rulebooks.models import ClaimLine, Coding, Reason


def _why(reason: Reason) -> str:
    source = reason.step if reason.rule is None else f"{reason.rule.rule_id} ({reason.rule.rulebook})"
    return f"{source}: {reason.message}"


def _rows(title: str, lines: list[ClaimLine], explain: bool) -> list[str]:
    if not lines:
        return []
    out = [title, f"  {'code':<7}{'units':>5}  {'modifiers':<12}{'diagnoses':<30}{'charge':>10}"]
    for line in lines:
        out.append(
            f"  {line.code:<7}{line.units:>5}  {','.join(line.modifiers) or '-':<12}"
            f"{','.join(line.diagnoses) or '-':<30}{line.charge or '-':>10}"
        )
        if explain:
            out.extend(f"      why: {_why(reason)}" for reason in line.reasons)
    return out


def coding_table(coding: Coding, *, explain: bool = False) -> str:
    out = [f"encounter {coding.encounter_id}  status {coding.status}"]
    out += _rows("claim lines", coding.claim_lines, explain)
    out += _rows("self-pay lines", coding.self_pay_lines, explain)
    for held in coding.held_lines:
        out.append(f"held {held.code} x{held.units}: {held.query}")
    for flag in coding.flags:
        out.append(f"flag {flag.code}" + (f": {flag.detail}" if flag.detail else ""))
        if explain:
            out.extend(f"      why: {_why(reason)}" for reason in flag.reasons)
    return "\n".join(out)


def diagnostic_text(diagnostic: dict[str, object], source: str, filename: str) -> str:
    """`file:line:column: severity code: message`, the source line, a caret under the range, the hint."""
    line = int(diagnostic["line"])  # type: ignore[call-overload]
    column = int(diagnostic["column"])  # type: ignore[call-overload]
    lines = source.splitlines()
    excerpt = lines[line - 1] if 0 < line <= len(lines) else ""
    end_line = int(diagnostic["range"]["end"]["line"]) + 1  # type: ignore[index]
    end_column = int(diagnostic["range"]["end"]["character"]) + 1  # type: ignore[index]
    width = max(1, (end_column - column) if end_line == line else len(excerpt) - column + 1)
    out = [
        f"{filename}:{line}:{column}: {diagnostic['severity']} {diagnostic['code']}: {diagnostic['message']}",
        f"  {line:>4} | {excerpt}",
        f"       | {' ' * (column - 1)}{'^' * width}",
    ]
    if diagnostic.get("hint"):
        out.append(f"       = hint: {diagnostic['hint']}")
    return "\n".join(out)


def test_report_text(report: dict[str, Any], filename: str) -> str:
    """One line per test (and example), failed expectations with expected vs what was observed."""
    out = []
    for result in report.get("results", []):
        name = result["name"] + (f" [example {result['example']}]" if result.get("example") else "")
        out.append(f"{'PASS' if result['passed'] else 'FAIL'}  {name}  ({filename}:{result.get('line')})")
        for expectation in result.get("expectations", []):
            if not expectation["passed"]:
                out.append(f"      expected: {expectation['expectation']}")
                out.append(f"      but: {expectation.get('message') or 'not observed'}")
                out.append(f"      observed: {'; '.join(result.get('observed', []))}")
                out.append(f"      rules fired: {', '.join(result.get('fired', [])) or 'none'}")
    coverage = report.get("coverage")
    if coverage:
        uncovered = sorted(rule for rule, hit in coverage.get("rules", {}).items() if not hit)
        out.append(
            f"coverage {coverage['percent']}%" + (f"; no test exercises: {', '.join(uncovered)}" if uncovered else "")
        )
    passed = sum(1 for r in report.get("results", []) if r["passed"])
    out.append(f"{passed} passed, {len(report.get('results', [])) - passed} failed")
    return "\n".join(out)
