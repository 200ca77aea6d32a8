"""Explains a broken block: every independent syntax error, each in words a person acts on.

A block Lark refuses comes here from `dsl.parser`. Its first error is Lark's; each further one
is found by replacing the broken statement with a correct stand-in and parsing again, so a
mistake is reported once and what merely follows from it not at all. Each error then becomes a
`Diagnostic` saying where, what was found, what was expected in words (not token names) and a
likely fix. Kept apart from the parser because none of this runs for a clean block.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache

from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from dsl.diagnostics import Diagnostic, LineIndex, did_you_mean
from dsl.grammar import KEYWORDS, block_tree, lark_parser

TOKEN_WORDS = {
    "NAME": "a name",
    "STRING": 'a quoted text such as "Aetna commercial"',
    "NUMBER": "a number",
    "QUANTITY": "a number with its unit such as 10 lesions",
    "DATE": "a date such as 2026-01-01",
    "CODE": "a code such as L57.0",
    "_NL": "the end of the line",
    "$END": "the end of the file",
    "VBAR": "`|`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "COMMA": "`,`",
    "COLON": "`:`",
}


def broken_block_diagnostics(chunk: str, text: str, index: LineIndex, begin: int, end: int) -> list[Diagnostic]:
    """An unclosed `{` alone (everything after it is inside it), or else each syntax error."""
    unclosed = _unclosed_brace(chunk, index, begin)
    if unclosed is not None:
        return [unclosed]
    return [syntax_diagnostic(error, text, index, begin, end) for error in syntax_errors(chunk)]


# ---- further mistakes in a broken block ------------------------------------------------
# After a syntax error the block is parsed again with the broken statement replaced by a
# correct stand-in of the same kind, every other character in place. The parser then meets
# the next statement in the state a correct statement would have left it in, so the next
# error it finds is a mistake of its own, not an echo of the first. An error inside the
# stand-in, or before it, means the statement's kind was guessed wrong (a line is missing,
# say): recovery stops there, since past it any error could be a cascade. Nor is a block
# that then merely ends too early told so: one being typed always does, and it is already
# marked broken.
MOST_ERRORS_PER_BLOCK = 10
STAND_INS = {
    "rulebook": 'rulebook ""',
    "extends": 'extends ""',
    "effective": "effective 2026-01-01",
    "template": 'template ""',
    "rule": 'rule x ""',
    "table": 'table x ""',
    "criteria": 'criteria x ""',
    "test": 'test "" {',
    "valueset": "valueset x = x",
    "disable": 'disable x ""',
    "in": "in x",
    "when": "when x",
    "then": "then",
    "hit": "hit x",
    "|": "|x|",
    "drug": "drug x for x",
    "require": 'require x ""',
    "approve": "approve 1 day",
    "given": "given {}",
    "expect": "expect x",
    "examples": "examples",
    "}": "}",
}  # `require x ""` is also a fine action line, in case `require` began one
ACTION_STAND_IN = "x"  # any other statement is an action line: `flag x`, `if ... then ...`
# Strings (one followed by a test's `{` swallows it: that brace opens a block, not a bracket)
# and comments, whose brackets and words do not count. An unclosed quote hides nothing: what
# follows it is what the author meant as code.
QUOTED_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"[ \t]*\{|"(?:[^"\\\n]|\\.)*"|#[^\n]*')
CLOSER_OF = {"[": "]", "(": ")", "{": "}"}
JOINS_NEXT_LINE = re.compile(r"(?:(?<![\w-])(?:and|or|else|when|not|if)|[,+])$")
CONTINUES_LINE = re.compile(r"\s*(?:(?:and|or|else)(?![\w-])|\.\.|\+|,)")
FIRST_WORD = re.compile(r"[ \t\f]*([A-Za-z_][\w-]*|\S)")


@lru_cache(maxsize=1024)
def syntax_errors(block: str) -> tuple[UnexpectedInput, ...]:
    """The block's syntax errors, first to last, each in a later statement than the one before
    and none a consequence of another; empty for a block that parses. Cached like the tree:
    an editor asks again about the same broken block on every keystroke elsewhere."""
    error = block_tree(block)
    if not isinstance(error, UnexpectedInput):
        return ()
    starts = _statement_starts(block)
    errors = [error]
    patched = block
    while len(errors) < MOST_ERRORS_PER_BLOCK:
        broken = _statement_at(starts, error_start(error, patched))
        stop = starts[broken + 1] if broken + 1 < len(starts) else len(block)
        repaired = _stand_in(patched, starts[broken], stop, error)
        if repaired is None:
            break
        patched = repaired
        try:
            lark_parser().parse(patched, start="start")
        except UnexpectedInput as later:
            statement = _statement_at(starts, error_start(later, patched))
            if statement <= broken or _runs_out(later) or not _is_own_mistake(later, patched, starts[statement]):
                break
            errors.append(later)
            error = later
        else:
            break
    return tuple(errors)


def _statement_starts(block: str) -> list[int]:
    """Where each statement of a block begins. A statement is a line and the lines continuing
    it: those starting with `and`, `or`, `else`, `+`, `,` or `..`, those after a line ending
    with `and`, `or`, `else`, `when`, `not`, `if`, `,` or `+`, and those inside an open bracket
    (an unclosed one runs to the end of the block: what follows it is no statement of its own).
    As in `StatementEnds`, a closing bracket that does not match the last one opened is ignored."""
    starts: list[int] = []
    expected_closers: list[str] = []
    joined = False
    for line in re.finditer(r"[^\n]*\n?", block):
        code = QUOTED_OR_COMMENT.sub(lambda m: "" if m.group(0).startswith("#") else '""', line.group(0)).strip()
        if not code:
            continue  # a blank or comment line belongs to the statement before it
        if not (joined or expected_closers or CONTINUES_LINE.match(code)):
            starts.append(line.start())
        for bracket in re.findall(r"[\[\](){}]", code):
            if bracket in CLOSER_OF:
                expected_closers.append(CLOSER_OF[bracket])
            elif expected_closers and bracket == expected_closers[-1]:
                expected_closers.pop()
        joined = JOINS_NEXT_LINE.search(code) is not None
    return starts or [0]


def _is_own_mistake(error: UnexpectedInput, block: str, statement_start: int) -> bool:
    """Whether an error found in a later statement is that statement's own mistake. One found at
    its very first word counts only as a misspelt keyword: a statement the parser refuses
    outright is more likely stranded by the mistake before it (the lines of a record whose `{`
    is missing, a statement the stand-in blanked out) than out of place by itself."""
    first_word = FIRST_WORD.match(block, statement_start)
    if first_word is None or error_start(error, block) != first_word.start(1):
        return True
    return _misspelt_keyword(error) is not None


def _statement_at(starts: list[int], offset: int) -> int:
    return max(0, bisect_right(starts, offset) - 1)


def _stand_in(block: str, begin: int, end: int, error: UnexpectedInput) -> str | None:
    """The block with its statement `block[begin:end]` replaced by a correct one of the same
    kind, written over its first line (over the indent if need be) and blanks elsewhere, so
    every other character keeps its place; None if the first line is too short to hold it.
    The kind is the statement's first word, or the keyword that word misspells: one the
    parser expected when it stumbled on the word (`wehn` stands for `when`), else the closest
    kind (a misspelt word the parser took for a name, stumbling only further on). A wrong guess
    only ends recovery early: a stand-in of the wrong kind fails where it stands."""
    first_word = FIRST_WORD.match(block, begin)
    if first_word is None:
        return None
    kind = first_word.group(1)
    if error_start(error, block) == first_word.start(1):
        kind = _misspelt_keyword(error) or kind
    elif kind not in STAND_INS and kind not in KEYWORDS:
        kind = did_you_mean(kind, [word for word in STAND_INS if word.isalpha()]) or kind
    stand_in = STAND_INS.get(kind, ACTION_STAND_IN)
    line_end = block.find("\n", begin)
    line = block[begin : line_end if line_end >= 0 else len(block)].rstrip("\r")
    if len(stand_in) > len(line):
        return None
    at = first_word.start(1) if first_word.start(1) - begin + len(stand_in) <= len(line) else begin
    blanked = re.sub(r"[^\r\n]", " ", block[begin:end])
    return block[:at] + stand_in + blanked[at + len(stand_in) - begin :] + block[end:]


def _unclosed_brace(chunk: str, index: LineIndex, offset: int) -> Diagnostic | None:
    """A `{` never closed in its block: point at the brace itself, where the fix goes."""
    opened: list[int] = []
    for match in re.finditer(r'"([^"\\\n]|\\.)*"|#[^\n]*|[{}]', chunk):
        if match.group(0) == "{":
            opened.append(match.start())
        elif match.group(0) == "}" and opened:
            opened.pop()
    if not opened:
        return None
    start = offset + opened[0]
    return Diagnostic(
        "error",
        "syntax.unclosed_block",
        "this `{` is never closed: the block needs a `}` before the next rule, table or test",
        index.span(start, start + 1),
        "add `}` on a line of its own",
    )


# ---- one error, in words ---------------------------------------------------------------


def error_start(error: UnexpectedInput, source: str) -> int:
    """Where in the block or cell it was parsed from an error was found; running out of text
    is found just after the last thing written, not at the end of the file."""
    if isinstance(error, UnexpectedCharacters):
        return error.pos_in_stream or 0
    if isinstance(error, UnexpectedToken) and not _runs_out(error):
        return error.token.start_pos or 0
    return len(source.rstrip())


def _runs_out(error: UnexpectedInput) -> bool:
    """Whether the parser ran out of text (as opposed to meeting a character or word it refused)."""
    if isinstance(error, UnexpectedToken):
        return error.token.type == "$END"
    return not isinstance(error, UnexpectedCharacters)


def _expected(error: UnexpectedInput) -> list[str]:
    return sorted(getattr(error, "accepts", None) or getattr(error, "expected", None) or [])


def _expected_keywords(error: UnexpectedInput) -> list[str]:
    return [name.lower() for name in _expected(error) if name.lower() in KEYWORDS]


def _misspelt_keyword(error: UnexpectedInput) -> str | None:
    """The keyword the parser expected that the word it stumbled on misspells, if any."""
    keywords = _expected_keywords(error)
    if not isinstance(error, UnexpectedToken) or error.token.type != "NAME" or not keywords:
        return None
    return did_you_mean(str(error.token), keywords)


def syntax_diagnostic(
    error: UnexpectedInput, text: str, index: LineIndex, offset: int, end: int, what: str | None = None
) -> Diagnostic:
    """Say where, what was found, what was expected in words, and a likely fix, for an error in
    the block or cell `text[offset:end]`. The span never runs past the text, even for an error
    found at its very end."""
    start = min(offset + error_start(error, text[offset:end]), len(text))
    one_character = index.span(start, min(start + 1, len(text)))
    if isinstance(error, UnexpectedCharacters):
        char = text[start] if start < len(text) else ""
        message = f"unexpected character {char!r}"
        hint = 'Quote text with double quotes "...".' if char in "'`" else None
        if char == "*":
            hint = "patterns are for ICD-10-CM codes such as D22.*; for CPT codes use a range such as 17000..17004"
        if char == '"':
            message = "this text is not closed: add the closing double quote on the same line"
        return Diagnostic("error", "syntax.unexpected_character", message, one_character, hint)
    expected = _expected(error)
    if not isinstance(error, UnexpectedToken) or _runs_out(error):
        words = _expected_words(expected)
        message = f"this block ends too early: expected {words}"
        if "RBRACE" in expected:
            message = "this block is not closed: expected `}` before the next block"
        return Diagnostic("error", "syntax.unexpected_end", message, one_character, _unclosed_hint(expected))
    token = error.token
    stop = min(start + (1 if token.type == "_NL" else max(1, len(str(token)))), len(text))
    found = "the end of the line" if token.type == "_NL" else f"`{token}`"
    words = what or _expected_words(expected)
    message = f"expected {words}, found {found}"
    hint = None
    if token.type == "NAME":
        guess = did_you_mean(str(token), _expected_keywords(error) or list(KEYWORDS))
        if guess:
            hint = f"did you mean `{guess}`?"
    if str(token) == "effective" and UNNAMED_AFTER_PHASE not in expected:
        hint = "`effective` goes in the rulebook's header, or on the line after a rule's or table's `in` line"
    if token.type == "RBRACE" or "RBRACE" in expected:
        hint = hint or _unclosed_hint(expected)
    if token.type == "_NL" and "RSQB" in expected:
        hint = "a list opened with `[` is not closed"
    return Diagnostic("error", "syntax.unexpected_token", message, index.span(start, stop), hint)


def _unclosed_hint(expected: list[str]) -> str | None:
    if "RBRACE" in expected:
        return "a block opened with `{` is not closed"
    if "RSQB" in expected:
        return "a list opened with `[` is not closed"
    if "RPAR" in expected:
        return "a `(` is not closed"
    return None


# After a rule's or table's phase (where `when` or `hit` may come next), the optional `effective`
# line is not named among the words expected: few rules have dates, and `wehn` or an early end
# there means the clauses every rule has. A misspelt `effective` still gets its did-you-mean.
UNNAMED_AFTER_PHASE = "EFFECTIVE"
PHASE_FOLLOWERS = {"WHEN", "HIT"}


def _expected_words(expected: list[str]) -> str:
    parser = lark_parser()
    words: list[str] = []
    if PHASE_FOLLOWERS & set(expected):
        expected = [name for name in expected if name != UNNAMED_AFTER_PHASE]
    for name in expected:
        if name in TOKEN_WORDS:
            word = TOKEN_WORDS[name]
        else:
            try:
                pattern = parser.get_terminal(name).pattern
            except KeyError:
                continue
            word = f"`{pattern.value}`" if pattern.type == "str" else name.lower()
        if word not in words:
            words.append(word)
    if "NAME" in expected and "NUMBER" in expected:
        # Somewhere a value goes: say so once instead of listing every kind of token.
        keywords = [
            w
            for w in words
            if w.startswith("`") and w.strip("`").isalpha() and w.strip("`") not in ("any", "all", "none", "not")
        ]
        words = [*keywords[:4], 'a value such as 10 lesions, L57.0, destruction or "text"']
    elif "a name" in words and len(words) > 6:
        words = [*[w for w in words if w.startswith("`") and w.strip("`").isalpha()][:6], "a name"]
    if not words:
        return "something else"
    if len(words) > 8:
        words = [*words[:8], "..."]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
