"""Plain-text rendering of a Coding for the terminal."""

from __future__ import annotations

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
