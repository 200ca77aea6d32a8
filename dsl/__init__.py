"""The cutis rule language: parse, check, compile, run with reasons, format, hash, test.

Domain-free: a `Vocabulary` (fields, actions, code checks) is handed in by the caller, and so
are the books an `extends` line may name (`dsl.extends`); `rulebooks.authoring` binds the
dermatology ones. Phases, one module each: parser -> checker -> compiler -> runtime, and
formatter, content_hash, testing.
"""

from dsl.api import Build, Formatted, build, check_text, format_text, render_diagnostics, test_text
from dsl.content_hash import content_hash
from dsl.diagnostics import Diagnostic
from dsl.parser import parse
from dsl.runtime import Decision, FiredAction, RuleOutcome, Trace, run_rules
from dsl.vocabulary import ActionSpec, Field, Type, Vocabulary

__all__ = [
    "ActionSpec",
    "Build",
    "Decision",
    "Diagnostic",
    "Field",
    "FiredAction",
    "Formatted",
    "RuleOutcome",
    "Trace",
    "Type",
    "Vocabulary",
    "build",
    "check_text",
    "content_hash",
    "format_text",
    "parse",
    "render_diagnostics",
    "run_rules",
    "test_text",
]
