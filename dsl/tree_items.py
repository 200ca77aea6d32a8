"""Makes the AST of the plain items: the rulebook header, value sets, disables, rules, criteria.

A rule's `then` clause and its actions are made here too; a table's `then` clause is the same
node (see `dsl.tree_tables`).
"""

from __future__ import annotations

from typing import Any

from lark import Tree

from dsl import ast
from dsl.tree_expressions import Effective, ExpressionMaker, Position, WhenClause, quantity_text, unquote


class ItemMaker(ExpressionMaker):
    """The makers of the header, value sets, disables, rules (with their actions) and criteria."""

    def header(self, children: list[Any], position: Position) -> ast.Header:
        name = unquote(children[0])
        payer = None
        extends: list[str] = []
        extends_spans: list[ast.Span] = []
        template_note = None
        span = self.at(position)
        dates: dict[str, Any] = {"from_span": span, "until_span": span}
        for child in children[1:]:
            if isinstance(child, Effective):
                dates = child.fields()
            elif not isinstance(child, Tree):
                continue
            elif child.data == "payer_clause":
                payer = str(child.children[0])
            elif child.data == "extends":
                extends.append(unquote(child.children[0]))
                extends_spans.append(self.span(child.children[0]))
            elif child.data == "template":
                template_note = unquote(child.children[0])
        return ast.Header(
            name,
            payer,
            tuple(extends),
            template_note=template_note,
            span=span,
            extends_spans=tuple(extends_spans),
            **dates,
        )

    def valueset(self, children: list[Any], position: Position) -> ast.ValueSet:
        name, value = children
        return ast.ValueSet(str(name), self.expr(value), self.at(position))

    def disable(self, children: list[Any], position: Position) -> ast.Disable:
        rule_id, why = children
        return ast.Disable(str(rule_id), unquote(why), self.at(position))

    def rule(self, children: list[Any], position: Position) -> ast.Rule:
        rule_id, label, phase_tree, *rest = children
        condition = None
        actions: tuple[ast.Step, ...] = ()
        dates: dict[str, Any] = {}
        for child in rest:
            if isinstance(child, WhenClause):
                condition = child.condition
            elif isinstance(child, tuple):
                actions = child
            elif isinstance(child, Effective):
                dates = child.fields()
        phase = phase_tree.children[1]
        scope, scope_span = self.scope(phase_tree)
        return ast.Rule(
            str(rule_id),
            unquote(label),
            str(phase),
            condition,
            actions,
            self.at(position),
            self.span(phase),
            **dates,
            scope=scope,
            scope_span=scope_span,
        )

    def scope(self, phase_tree: Tree) -> tuple[str | None, ast.Span]:
        """`for the encounter` after a rule's phase: the rule runs once a visit (None: per service)."""
        words = [str(word) for word in phase_tree.children[3:]]
        if not words:
            return None, ast.NO_SPAN
        span = self.span(phase_tree.children[2])
        if [word.lower() for word in words] not in (["the", "encounter"], ["encounter"]):
            self.error(
                "rule.scope",
                f"`for {' '.join(words)}` is not what a rule runs for",
                span,
                "write `for the encounter` to run the rule once a visit, or nothing to run it for each service",
            )
        return "encounter", span

    def then_clause(self, children: list[Any], position: Position) -> tuple[ast.Step, ...]:
        steps: list[ast.Step] = []
        for line in children:
            steps.extend(_steps(line))
        return tuple(steps)

    def action_seq(self, children: list[Any], position: Position) -> list[ast.Step]:
        return [child for child in children if isinstance(child, ast.Action)]  # the `and`s left out

    def conditional(self, children: list[Any], position: Position) -> ast.Conditional:
        condition, then_seq, *rest = children
        otherwise: list[ast.Step] = []
        for child in rest:
            if child is not None:
                otherwise.extend(_steps(child))
        return ast.Conditional(self.expr(condition), tuple(then_seq), tuple(otherwise), self.at(position))

    def action(self, children: list[Any], position: Position) -> ast.Action:
        return ast.Action(tuple(self.word(child) for child in children), self.at(position))

    # ---- criteria -------------------------------------------------------------------------------

    def criteria(self, children: list[Any], position: Position) -> ast.Criteria:
        criteria_id, label, drug_clause, *rest = children
        drug, _, indication = drug_clause.children
        requirements: list[ast.Requirement] = []
        approve_for = reauthorize_for = None
        for child in rest:
            if not isinstance(child, Tree):
                continue
            if child.data == "requirement":
                requirements.append(
                    ast.Requirement(self.expr(child.children[0]), unquote(child.children[1]), self.span(child))
                )
            elif child.data == "approval":
                approve_for = quantity_text(child.children[0])
                if len(child.children) > 1 and isinstance(child.children[1], Tree):
                    reauthorize_for = quantity_text(child.children[1].children[0])
        return ast.Criteria(
            str(criteria_id),
            unquote(label),
            str(drug),
            self.expr(indication),
            tuple(requirements),
            approve_for,
            reauthorize_for,
            self.at(position),
        )


def _steps(line: Any) -> list[ast.Step]:
    """The steps of an action line: a conditional, or the actions of an `a and b` sequence."""
    return [line] if isinstance(line, ast.Conditional) else line
