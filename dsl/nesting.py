"""How deeply a block nests, measured without recursion, so that no later phase recurses too deep.

The checker, compiler, formatter and hash walk the AST recursively, a few Python frames per
level, so a condition inside thousands of brackets would overflow Python's stack long after
the parser accepted it. The parser measures each block here (iteratively) and reports one that
nests deeper than `DEEPEST_NESTING` instead of handing it on. No rule a person writes comes
close: the library's deepest is about a dozen levels.
"""

from __future__ import annotations

from typing import Any

from lark import Tree

from dsl import ast

DEEPEST_NESTING = 64
# Each of these can open one more level: a bracket, `not`, `if` (an `else if` chain), `:` (a
# quantifier). A block with few of them cannot nest deep, and is not walked at all.
_OPENERS = ("(", "[", "{", "not", "if", ":")
_LEVELS_PER_OPENER = 4
_LEVELS_OF_ANY_BLOCK = 12


def may_nest_too_deep(text: str) -> bool:
    """False when `text` surely nests less than `DEEPEST_NESTING` deep (the cheap common answer)."""
    openers = sum(text.count(opener) for opener in _OPENERS)
    return _LEVELS_OF_ANY_BLOCK + _LEVELS_PER_OPENER * openers > DEEPEST_NESTING


def too_deep_node(root: Any) -> Any | None:
    """The first AST node (a frozen dataclass) found deeper than `DEEPEST_NESTING`, or None."""
    pending: list[tuple[Any, int]] = [(root, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > DEEPEST_NESTING:
            return node
        for value in vars(node).values():
            if isinstance(value, tuple):
                pending.extend((item, depth + 1) for item in value if hasattr(item, "__dataclass_fields__"))
            elif hasattr(value, "__dataclass_fields__") and not isinstance(value, ast.Span):
                pending.append((value, depth + 1))
    return None


def too_deep_tree(root: Tree) -> Tree | None:
    """The first subtree of Lark's parse tree deeper than `DEEPEST_NESTING`, or None."""
    pending: list[tuple[Tree, int]] = [(root, 1)]
    while pending:
        tree, depth = pending.pop()
        if depth > DEEPEST_NESTING:
            return tree
        pending.extend((child, depth + 1) for child in tree.children if isinstance(child, Tree))
    return None
