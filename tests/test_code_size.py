"""Rooms a reviewer can read: no simulator module over 500 lines, no function over 80.

Only `pipelines/simulator/` is held to it so far (issue 13 split it); other packages join the
list as they are split.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = [ROOT / "pipelines" / "simulator"]
MAX_MODULE_LINES = 500
# A function's body, from its first statement: a Typer command's options are declarations.
MAX_FUNCTION_LINES = 80

MODULES = sorted(p for folder in CHECKED for p in folder.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_its_functions_are_small(path: Path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{path.name}: split it by concern"
    long = [
        f"{node.name} ({node.end_lineno - node.body[0].lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.body[0].lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path.name}: {long}"
