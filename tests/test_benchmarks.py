"""Every benchmark script still imports: a refactor that moves what one reads fails here, not on
the day someone needs the figure. (Running them is for people: they print figures, not verdicts.)"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

SCRIPTS = sorted(
    p.stem for p in (Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py") if p.stem != "__init__"
)


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_benchmark_imports(script: str) -> None:
    module = importlib.import_module(f"benchmarks.{script}")
    assert module.__doc__, f"benchmarks/{script}.py says what it measures in its docstring"
