"""Fuzz the rule language end to end: the checker must diagnose every text, never crash.

Each input goes through `rulebooks.authoring.check`, the one function the editor
(`validateRulebook`) and `cutis rules check` call: parse, check, and compile when the
checker finds no error. A crash is any exception escaping it, or a diagnostic whose span
lies outside the text. A text that parses cleanly is also formatted through
`rulebooks.authoring.format`: formatting must not raise, must be idempotent, and its output
must parse cleanly again.

Inputs, all small (most under 2 KB, so a million runs take minutes, not hours):
  - random bytes decoded as text, and random unicode (NUL, lone surrogates, line separators);
  - mutations of the real corpus (the library rulebooks, tests/dsl/malformed, the examples in
    docs/rule-language.md): characters and tokens inserted, deleted, duplicated, swapped;
    deep nesting; huge numbers; odd white space; CRLF; tabs; very long names; splices;
  - token soup: a Markov chain over the corpus's own tokens, which reads like rules.

Input `i` of seed `S` depends on `(S, i)` only, so a run is the same for any `--workers`.
Crashing inputs are written to `benchmarks/fuzz_crashes/` (ignored by git) to replay with
`--replay FILE`. With `--atheris` the same check runs under atheris' coverage-guided
mutator instead (libFuzzer stops at the first crash; its seed is `--seed`).

    python benchmarks/fuzz_rules.py --count 1000000 --seed 1 --workers 2
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import random
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from dsl.grammar import KEYWORDS

ROOT = Path(__file__).resolve().parent.parent
CRASH_FOLDER = Path(__file__).resolve().parent / "fuzz_crashes"
LARGEST_INPUT_CHARS = 2048  # most inputs; deep nesting and long names may go past it

# ---- the one thing each input must survive ----------------------------------------------


@dataclass(frozen=True)
class Crash:
    """An exception, or a broken promise (span outside the text, formatting not idempotent)."""

    signature: str
    detail: str


def examine(text: str) -> Crash | None:
    """Validate `text` the way the editor and the CLI do; format it when it parses cleanly."""
    from rulebooks import authoring

    try:
        diagnostics = authoring.check(text)
    except BaseException as error:  # every escape is a finding, MemoryError included
        if isinstance(error, KeyboardInterrupt):
            raise
        return _crash_of("check", error)
    for diagnostic in diagnostics:
        broken = _span_problem(diagnostic, text)
        if broken:
            return Crash(f"span:{diagnostic['code']}:{broken}", repr(diagnostic))
    if any(d["code"].startswith("syntax.") for d in diagnostics):
        return None
    try:
        formatted = authoring.format(text)
        if formatted["text"] is None:
            return None
        again = authoring.format(formatted["text"])
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        return _crash_of("format", error)
    if again["text"] is None:
        return Crash("format:output-does-not-parse", repr(again["diagnostics"][:1]))
    if again["text"] != formatted["text"]:
        return Crash("format:not-idempotent", f"{formatted['text']!r} -> {again['text']!r}")
    return None


def _span_problem(diagnostic: dict, text: str) -> str | None:
    start, end = diagnostic["start"], diagnostic["end"]
    if not 0 <= start <= end <= len(text):
        return "offsets"
    lines = text.count("\n") + 1
    if not 1 <= diagnostic["line"] <= lines or diagnostic["range"]["end"]["line"] >= lines:
        return "line"
    if diagnostic["column"] < 1:
        return "column"
    return None


def _crash_of(phase: str, error: BaseException) -> Crash:
    """Signature: the phase, the exception type and the innermost frame in our own code."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/dsl/" in f.filename or "/rulebooks/" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    detail = "".join(traceback.format_exception(type(error), error, error.__traceback__, limit=-12))
    return Crash(f"{phase}:{type(error).__name__}:{where}", detail[-4000:])


# ---- the corpus -----------------------------------------------------------------------------


@cache
def corpus() -> tuple[str, ...]:
    """The real rulebooks, the malformed ones the tests keep, and the documentation's examples."""
    paths = sorted((ROOT / "rulebooks" / "library").glob("*.rules"))
    paths += sorted((ROOT / "tests" / "dsl" / "malformed").glob("*.rules"))
    texts = [path.read_text(encoding="utf-8") for path in paths]
    for doc in sorted((ROOT / "docs").glob("*.md")):
        texts += re.findall(r"```[a-z]*\n(.*?)```", doc.read_text(encoding="utf-8"), re.DOTALL)
    return tuple(t for t in texts if t.strip())


TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\r?\n[ \t]*|[ \t]+|\d{4}-\d{2}-\d{2}|[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*'
    r"|\d+(?:\.\d+)?|\.\.|=>|!=|<=|>=|."
)


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


@cache
def corpus_tokens() -> tuple[str, ...]:
    return tuple(sorted({t for text in corpus() for t in tokens(text)}))


@cache
def markov_chain() -> dict[tuple[str, str], tuple[str, ...]]:
    """Which token follows each pair of tokens in the corpus (order 2)."""
    following: dict[tuple[str, str], list[str]] = {}
    for text in corpus():
        words = ["", "", *tokens(text)]
        for a, b, c in zip(words, words[1:], words[2:], strict=False):
            following.setdefault((a, b), []).append(c)
    return {key: tuple(values) for key, values in following.items()}


# ---- generators -------------------------------------------------------------------------------

KEYWORD_TOKENS = (
    *KEYWORDS,
    "any",
    "all",
    "none",
    "no",
    "first",
    "unique",
    "collect",
    "policy",
    "classify",
    "select",
    "route",
    "service",
    "service.count",
    "present",
    "count",
    "sum",
    "max",
    "min",
    "flag",
    "cap",
    "lesions",
    "cm",
)
PUNCTUATION = (
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "|",
    ",",
    ":",
    ";",
    ".",
    "..",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "=>",
    "+",
    "-",
    "*",
    '"',
    "#",
    "\\",
    "'",
    "`",
    "$",
    "@",
    "%",
    "/",
)
ODD_CHARACTERS = (
    "\x00",
    "\t",
    "\r",
    "\r\n",
    "\x0b",
    "\x0c",
    "\u00a0",
    "\u2028",
    "\u2029",
    "\u200b",
    "\ufeff",
    "\ud800",
    "\udfff",
    "\U0001f600",
    "\u0301",
    "\u202e",
    "\x85",
    "\x1b",
    "\uffff",
    "é",
    "İ",
    "ß",
)
HUGE_NUMBERS = (
    "9" * 40,
    "1" + "0" * 400,
    "99999999999999999999.999999999",
    "1e999999",
    "0" * 60,
    "-0",
    "1.",
    ".5",
    "9999-99-99",
    "0000-00-00",
    "2026-02-30",
    "2026-13-01",
    "99999-01-01",
    "4294967296 lesions",
    "1" * 30 + " cm",
    "0.0000000001 %",
    "18446744073709551616",
    "1" * 5000,
)
OPENERS = (
    ("(", ")"),
    ("[", "]"),
    ("{", "}"),
    ("not ", ""),
    ("-", ""),
    ("(not ", ")"),
    ("f(", ")"),
    ("[x, ", "]"),
    ("{a: ", "}"),
    ("if x then ", ""),
    ('"', ""),
)


def random_text(rng: random.Random) -> str:
    """Noise: bytes decoded leniently, any code points, or printable ASCII."""
    size = rng.choice((0, 1, 2, 5, 20, 100, 400, 1500))
    size = rng.randint(0, size)
    flavour = rng.random()
    if flavour < 0.35:
        return rng.randbytes(size).decode("utf-8", errors=rng.choice(("replace", "ignore", "surrogateescape")))
    if flavour < 0.6:
        return "".join(
            chr(rng.choice((rng.randint(0, 0x7F), rng.randint(0, 0xFFFF), rng.randint(0, 0x10FFFF))))
            for _ in range(size)
        )
    alphabet = 'abcdeilnorstuwxyz_-.0123456789 \n\t()[]{}|,:;=<>!+"#*LCJ'
    return "".join(rng.choice(alphabet) for _ in range(size))


def token_soup(rng: random.Random) -> str:
    """A walk along the corpus's token pairs: mostly well-formed, wrong in interesting places."""
    chain = markov_chain()
    a, b = "", ""
    out: list[str] = []
    for _ in range(rng.randint(5, 400)):
        choices = chain.get((a, b))
        c = rng.choice(corpus_tokens()) if not choices or rng.random() < 0.02 else rng.choice(choices)
        out.append(c)
        a, b = b, c
    return "".join(out)


def _snippet(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(KEYWORD_TOKENS)
    if roll < 0.55:
        return rng.choice(PUNCTUATION)
    if roll < 0.75:
        return rng.choice(ODD_CHARACTERS)
    if roll < 0.85:
        return rng.choice(HUGE_NUMBERS)
    if roll < 0.95:
        return rng.choice(corpus_tokens())
    return chr(rng.randint(0, 0x10FFFF))


def insert_snippet(text: str, rng: random.Random) -> str:
    at = rng.randint(0, len(text))
    return text[:at] + _snippet(rng) + text[at:]


def delete_characters(text: str, rng: random.Random) -> str:
    if not text:
        return text
    at = rng.randrange(len(text))
    return text[:at] + text[at + rng.choice((1, 1, 2, 5, 20)) :]


def replace_character(text: str, rng: random.Random) -> str:
    if not text:
        return text
    at = rng.randrange(len(text))
    return text[:at] + _snippet(rng)[:2] + text[at + 1 :]


def duplicate_span(text: str, rng: random.Random) -> str:
    if not text:
        return text
    begin = rng.randrange(len(text))
    end = min(len(text), begin + rng.choice((1, 5, 30, 200)))
    at = rng.randint(0, len(text))
    return text[:at] + text[begin:end] * rng.choice((1, 1, 2, 10)) + text[at:]


def _token_edit(text: str, rng: random.Random, edit: Callable[[list[str], int, random.Random], None]) -> str:
    words = tokens(text)
    if not words:
        return text
    edit(words, rng.randrange(len(words)), rng)
    return "".join(words)


def delete_token(text: str, rng: random.Random) -> str:
    return _token_edit(text, rng, lambda w, i, r: w.pop(i))


def duplicate_token(text: str, rng: random.Random) -> str:
    return _token_edit(text, rng, lambda w, i, r: w.insert(i, w[i]))


def replace_token(text: str, rng: random.Random) -> str:
    def edit(words: list[str], i: int, r: random.Random) -> None:
        words[i] = r.choice(corpus_tokens()) if r.random() < 0.6 else r.choice(KEYWORD_TOKENS + PUNCTUATION)

    return _token_edit(text, rng, edit)


def swap_tokens(text: str, rng: random.Random) -> str:
    def edit(words: list[str], i: int, r: random.Random) -> None:
        j = min(len(words) - 1, i + r.choice((1, 2, 3, r.randrange(len(words)))))
        words[i], words[j] = words[j], words[i]

    return _token_edit(text, rng, edit)


def nest_deeply(text: str, rng: random.Random) -> str:
    """Wrap a stretch of the text in many brackets, `not`s or minus signs."""
    opener, closer = rng.choice(OPENERS)
    depth = rng.choice((10, 50, 200, 1000, 3000))
    begin = rng.randint(0, len(text))
    end = rng.randint(begin, min(len(text), begin + 80))
    inner = text[begin:end] or rng.choice(("x", "1", "service.count", "[L57.0]"))
    closers = closer * depth if rng.random() < 0.8 else closer * rng.randint(0, depth)
    return text[:begin] + opener * depth + inner + closers + text[end:]


def huge_number(text: str, rng: random.Random) -> str:
    numbers = list(re.finditer(r"\d+(\.\d+)?", text))
    if not numbers:
        return insert_snippet(text, rng)
    match = rng.choice(numbers)
    return text[: match.start()] + rng.choice(HUGE_NUMBERS) + text[match.end() :]


def odd_whitespace(text: str, rng: random.Random) -> str:
    """CRLF line ends, tabs, form feeds, no-break spaces, line separators, NUL."""
    roll = rng.random()
    if roll < 0.3:
        return text.replace("\n", "\r\n")
    if roll < 0.45:
        return text.replace("  ", "\t")
    if roll < 0.55:
        return text.replace("\n", "\r")
    spaces = [m.start() for m in re.finditer(r"[ \n]", text)]
    if not spaces:
        return text + rng.choice(ODD_CHARACTERS)
    at = rng.choice(spaces)
    return text[:at] + rng.choice(ODD_CHARACTERS) + text[at + 1 :]


def long_name(text: str, rng: random.Random) -> str:
    names = list(re.finditer(r"[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*", text))
    length = rng.choice((100, 1000, 5000))
    long = rng.choice(("a" * length, "a-" * (length // 2) + "b", "x." * (length // 2) + "y", "_" * length))
    if not names:
        return text + long
    match = rng.choice(names)
    return text[: match.start()] + long + text[match.end() :]


def splice(text: str, rng: random.Random) -> str:
    other = rng.choice(corpus())
    cut, other_cut = rng.randint(0, len(text)), rng.randint(0, len(other))
    return text[:cut] + other[other_cut : other_cut + rng.randint(0, 600)]


def truncate(text: str, rng: random.Random) -> str:
    return text[: rng.randint(0, len(text))]


MUTATIONS: tuple[Callable[[str, random.Random], str], ...] = (
    insert_snippet,
    insert_snippet,
    delete_characters,
    replace_character,
    duplicate_span,
    delete_token,
    delete_token,
    duplicate_token,
    replace_token,
    replace_token,
    swap_tokens,
    nest_deeply,
    huge_number,
    odd_whitespace,
    long_name,
    splice,
    truncate,
)


def _window(text: str, rng: random.Random) -> str:
    """A stretch of at most LARGEST_INPUT_CHARS, preferably starting where a block starts."""
    if len(text) <= LARGEST_INPUT_CHARS:
        return text
    starts = [0] + [m.start() for m in re.finditer(r"^(rule|table|valueset|criteria|test)\b", text, re.M)]
    begin = rng.choice(starts) if rng.random() < 0.8 else rng.randrange(len(text))
    return text[begin : begin + rng.randint(200, LARGEST_INPUT_CHARS)]


def mutant(rng: random.Random) -> str:
    text = _window(rng.choice(corpus()), rng)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 5, 10))):
        text = rng.choice(MUTATIONS)(text, rng)
    return text


def generate(seed: int, index: int) -> str:
    """Input `index` of run `seed`: 10% noise, 15% token soup, 75% mutated corpus."""
    rng = random.Random(f"{seed}:{index}")
    roll = rng.random()
    if roll < 0.10:
        return random_text(rng)
    if roll < 0.25:
        text = token_soup(rng)
        return rng.choice(MUTATIONS)(text, rng) if rng.random() < 0.5 else text
    return mutant(rng)


# ---- running ------------------------------------------------------------------------------------


@dataclass
class Tally:
    inputs: int = 0
    crashes: int = 0
    slowest_seconds: float = 0.0
    slowest_index: int = -1
    signatures: Counter[str] | None = None
    examples: dict[str, tuple[int, str, str]] | None = None  # signature -> (index, text, detail)

    def add(self, other: Tally) -> None:
        self.inputs += other.inputs
        self.crashes += other.crashes
        if other.slowest_seconds > self.slowest_seconds:
            self.slowest_seconds, self.slowest_index = other.slowest_seconds, other.slowest_index
        self.signatures = (self.signatures or Counter()) + (other.signatures or Counter())
        examples = self.examples or {}
        for signature, example in (other.examples or {}).items():
            examples.setdefault(signature, example)
        self.examples = examples


def fuzz(seed: int, indices: Iterable[int]) -> Tally:
    """Run the inputs `indices` of `seed`; the first input of each crash signature is kept."""
    tally = Tally(signatures=Counter(), examples={})
    assert tally.signatures is not None and tally.examples is not None
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    for index in indices:
        text = generate(seed, index)
        started = time.perf_counter()
        crash = examine(text)
        elapsed = time.perf_counter() - started
        tally.inputs += 1
        if elapsed > tally.slowest_seconds:
            tally.slowest_seconds, tally.slowest_index = elapsed, index
        if crash is not None:
            tally.crashes += 1
            tally.signatures[crash.signature] += 1
            tally.examples.setdefault(crash.signature, (index, text, crash.detail))
    return tally


def _fuzz_share(job: tuple[int, int, int, int]) -> Tally:
    seed, begin, end, _ = job
    return fuzz(seed, range(begin, end))


def run(count: int, seed: int, workers: int, progress: bool = True) -> Tally:
    """Fuzz `count` inputs over `workers` processes, in chunks so progress shows as it goes."""
    chunk = 5000
    jobs = [(seed, begin, min(count, begin + chunk), workers) for begin in range(0, count, chunk)]
    total = Tally(signatures=Counter(), examples={})
    started = time.perf_counter()
    if workers <= 1:
        results: Iterable[Tally] = map(_fuzz_share, jobs)
    else:
        # A fresh process every 20 chunks: a long run's resident memory grew to 13 GB per process by
        # about 440,000 inputs (40,000 in one process plateau near 500 MB; the growth is not found yet).
        pool = multiprocessing.get_context("fork").Pool(workers, maxtasksperchild=20)
        results = pool.imap(_fuzz_share, jobs)
    for tally in results:
        total.add(tally)
        if progress:
            rate = total.inputs / (time.perf_counter() - started)
            print(f"  {total.inputs:>9,} inputs  {total.crashes} crashes  {rate:,.0f}/s", file=sys.stderr, flush=True)
    if workers > 1:
        pool.close()
        pool.join()
    return total


def save(total: Tally, seed: int) -> list[Path]:
    """Write the first input of each signature, and what went wrong, to CRASH_FOLDER."""
    saved = []
    CRASH_FOLDER.mkdir(exist_ok=True)
    for signature, (index, text, detail) in sorted((total.examples or {}).items()):
        name = hashlib.sha1(signature.encode()).hexdigest()[:10]
        path = CRASH_FOLDER / f"{name}-seed{seed}-input{index}.rules"
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        path.with_suffix(".txt").write_text(f"{signature}\n\n{detail}\n", encoding="utf-8")
        saved.append(path)
    return saved


def replay(path: Path) -> int:
    text = path.read_bytes().decode("utf-8", errors="surrogatepass")
    crash = examine(text)
    print("no crash" if crash is None else f"{crash.signature}\n{crash.detail}")
    return 0 if crash is None else 1


def run_atheris(count: int, seed: int) -> None:  # pragma: no cover - needs atheris
    import atheris

    with atheris.instrument_imports():
        from rulebooks import authoring  # noqa: F401

    def one_input(data: bytes) -> None:
        text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
        crash = examine(text)
        if crash is not None:
            raise RuntimeError(f"{crash.signature}\n{crash.detail}")

    CRASH_FOLDER.mkdir(exist_ok=True)
    seeds = CRASH_FOLDER / "atheris-seeds"
    seeds.mkdir(exist_ok=True)
    for number, text in enumerate(corpus()):
        (seeds / f"{number}.rules").write_bytes(text.encode()[:LARGEST_INPUT_CHARS])
    atheris.Setup(
        [
            sys.argv[0],
            f"-runs={count}",
            f"-seed={seed}",
            f"-max_len={LARGEST_INPUT_CHARS}",
            f"-artifact_prefix={CRASH_FOLDER}/",
            str(seeds),
        ],
        one_input,
    )
    atheris.Fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replay", type=Path, help="run one saved input and show what happens")
    parser.add_argument("--atheris", action="store_true", help="coverage-guided, with atheris (stops at a crash)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.replay:
        return replay(args.replay)
    if args.atheris:
        run_atheris(args.count, args.seed)
        return 0
    started = time.perf_counter()
    total = run(args.count, args.seed, args.workers)
    elapsed = time.perf_counter() - started
    signatures = total.signatures or Counter()
    print(f"inputs: {total.inputs}")
    print(f"crashes: {total.crashes}")
    print(f"distinct crash signatures: {len(signatures)}")
    for signature, times in signatures.most_common():
        print(f"  {times:>7}  {signature}")
    for path in save(total, args.seed):
        print(f"saved {path.relative_to(ROOT)}")
    print(
        f"seconds: {elapsed:.0f} ({total.inputs / elapsed:,.0f} inputs/s, {args.workers} workers); slowest input "
        f"{total.slowest_index} took {total.slowest_seconds:.2f}s"
    )
    return 1 if total.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
