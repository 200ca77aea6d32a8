"""The grammar, loaded: Lark's parser of `grammar.lark` and the post-lexer it reads through.

Both the parser (`dsl.parser`) and the explanation of broken blocks (`dsl.recovery`) parse with
Lark; this module is what they share, so neither has to import the other. It also holds the
decision, shared with the fast reader in `dsl.lalr`, of which newlines end a statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput

START_RULES = ["start", "input_cell", "output_cell", "header_cell", "expect_cell"]
KEYWORDS = (
    "rulebook",
    "rule",
    "table",
    "valueset",
    "criteria",
    "test",
    "disable",
    "when",
    "then",
    "else",
    "if",
    "and",
    "or",
    "not",
    "in",
    "hit",
    "given",
    "expect",
    "because",
    "examples",
    "extends",
    "effective",
    "until",
    "template",
    "require",
    "approve",
    "reauthorize",
    "drug",
    "for",
    "payer",
)

# Tokens after which a newline never ends a statement, and before which it never does.
# (Not after a comparison operator: `when x >` at the end of a line is a mistake to report
# there, not a reason to read the next line as the value.)
CONTINUES_AFTER = {"AND", "OR", "THEN", "ELSE", "WHEN", "NOT", "COMMA", "PLUS", "LBRACE", "IF"}
OPENERS = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}


class StatementEnds:
    """Decides, token type by token type, which newlines end a statement (see the grammar's
    first comment). Lark's post-lexer and the fast reader in `dsl.lalr` both ask it, about the
    `watched` token types only: any other is always kept and changes nothing, so they save the
    call for most tokens. Each says the type of the last token kept before (None: none yet)."""

    __slots__ = ("closers",)
    watched = frozenset({"_NL", *OPENERS, *OPENERS.values()})

    def __init__(self) -> None:
        self.closers: list[str] = []  # the closer expected for each open bracket; BLOCK is a test's `{`

    def keeps(self, token_type: str, previous: str | None) -> bool:
        closers = self.closers
        if token_type == "_NL":
            inside_brackets = closers and closers[-1] != "BLOCK"
            if inside_brackets or previous is None or previous in CONTINUES_AFTER or previous == "_NL":
                return False
        elif token_type in OPENERS:
            is_test_block = token_type == "LBRACE" and previous == "STRING"
            closers.append("BLOCK" if is_test_block else OPENERS[token_type])
        elif closers and (token_type == closers[-1] or (token_type == "RBRACE" and closers[-1] == "BLOCK")):
            closers.pop()
        return True

    @staticmethod
    def ends_text(previous: str | None) -> bool:
        """Whether the end of the text must end the last statement (it ends with no newline)."""
        return previous is not None and previous != "_NL"


class PostLexer:
    """Keeps only the newlines that end a statement.

    It also makes a keyword a whole word. Lark's contextual lexer tries only the terminals the
    parser can take next, and where it takes a keyword but no name, `inn policy` would be cut
    into `in` and a name `n` (and `inpolicy` read as `in policy`). Offered a name everywhere, the
    lexer reads the whole word `inn`, which is the keyword only if it is exactly `in`: the
    parser then stumbles on `inn` itself ("did you mean `in`?"), as the fast reader in
    `dsl.lalr` always has, since it lexes every word as a name first.
    """

    always_accept = ("_NL", "NAME")

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        ends = StatementEnds()
        watched = ends.watched
        previous: Token | None = None
        previous_type: str | None = None
        for token in stream:
            if token.type not in watched or ends.keeps(token.type, previous_type):
                yield token
                previous, previous_type = token, token.type
        if previous is not None and ends.ends_text(previous_type):
            # The end of the text ends the last statement, just after its last token.
            yield Token(
                "_NL",
                "\n",
                start_pos=previous.end_pos,
                line=previous.end_line,
                column=previous.end_column,
                end_line=previous.end_line,
                end_column=previous.end_column,
                end_pos=previous.end_pos,
            )


@cache
def lark_parser() -> Lark:
    """Built once per process: the LALR tables are immutable and shared."""
    grammar = (Path(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        start=START_RULES,
        postlex=PostLexer(),
        propagate_positions=True,
        maybe_placeholders=True,
        cache=False,
    )


@lru_cache(maxsize=8192)
def block_tree(block: str, start: str = "start") -> Tree | UnexpectedInput:
    """Lark's parse tree of a block or cell the fast reader declined (positions relative to it),
    or what is wrong with it; cached by its text, as an editor asks again about the same broken
    block on every keystroke elsewhere."""
    try:
        return lark_parser().parse(block, start=start)
    except UnexpectedInput as error:
        return error
