"""Plain checks on the code itself: ruff is clean, no function in the import path is over 60
lines, and no function anywhere in dashboard/ or pricing/ has a cyclomatic complexity over 20
(radon's grade C or better), and no test reaches the project's private code. A function over a
limit fails `test_no_*` with its name and size.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

import pytest
from radon.complexity import cc_visit
from support.paths import REPO

MAX_LINES = 60
MAX_COMPLEXITY = 20  # radon: A-C are 1-20, D starts at 21
SHORT_FUNCTION_ROOTS = ("dashboard/ingest", "dashboard/warehouse")
SIMPLE_FUNCTION_ROOTS = ("dashboard", "pricing")

def _sources(roots: tuple[str, ...]) -> list[Path]:
    return sorted(p for root in roots for p in (REPO / root).rglob("*.py") if "__pycache__" not in p.parts)


def _functions(tree: ast.AST, prefix: str = ""):
    """(qualified name, node) of every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


@functools.cache
def long_functions() -> dict[tuple[str, str], int]:
    """(file, qualified name) -> lines from `def` to the last line of the body, over MAX_LINES."""
    found = {}
    for path in _sources(SHORT_FUNCTION_ROOTS):
        for name, node in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            lines = node.end_lineno - node.lineno + 1
            if lines > MAX_LINES:
                found[(path.relative_to(REPO).as_posix(), name)] = lines
    return found


@functools.cache
def complex_functions() -> dict[tuple[str, str], int]:
    """(file, qualified name) -> radon's cyclomatic complexity, over MAX_COMPLEXITY."""
    found = {}
    for path in _sources(SIMPLE_FUNCTION_ROOTS):
        pending = list(cc_visit(path.read_text(encoding="utf-8")))
        while pending:
            block = pending.pop()
            if hasattr(block, "methods"):  # a class: its methods are also listed on their own
                pending.extend(block.inner_classes)
                continue
            pending.extend(block.closures)
            if block.complexity > MAX_COMPLEXITY:
                found[(path.relative_to(REPO).as_posix(), block.fullname)] = block.complexity
    return found


def _report(found: dict[tuple[str, str], int], unit: str) -> list[str]:
    return [f"{file}: {name} ({n} {unit})" for (file, name), n in sorted(found.items())]


@pytest.mark.slow
def test_ruff_is_clean():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--quiet", "."], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_function_over_60_lines_in_ingest_and_warehouse():
    new = long_functions()
    assert not new, f"functions over {MAX_LINES} lines: {_report(new, 'lines')}"


@pytest.mark.slow
def test_no_function_over_complexity_20():
    new = complex_functions()
    assert not new, f"functions over cyclomatic complexity {MAX_COMPLEXITY}: {_report(new, 'complexity')}"


def test_the_checks_see_what_they_check():
    """The scans find functions where they look (a moved folder would make every check pass)."""
    assert _sources(SHORT_FUNCTION_ROOTS) and _sources(SIMPLE_FUNCTION_ROOTS)
    source = "def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(21)) + "    return -1\n"
    (block,) = cc_visit(source)
    assert block.complexity == 22 > MAX_COMPLEXITY
    ((name, node),) = _functions(ast.parse(source))
    assert (name, node.end_lineno - node.lineno + 1) == ("f", 44)


def test_test_modules_have_unique_names():
    """pytest imports a test module by its file name (its folder put on sys.path), so two test files of one
    name in different folders stop the whole suite at collection."""
    names: dict[str, list[str]] = {}
    for path in (REPO / "tests").rglob("*.py"):
        if "node_modules" not in path.parts and path.name != "__init__.py":
            names.setdefault(path.name, []).append(path.relative_to(REPO).as_posix())
    shared = {name: paths for name, paths in names.items() if len(paths) > 1 and name != "conftest.py"}
    assert not shared, f"rename one of each: {shared}"


_OURS = ("dashboard", "pricing")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_reaches(source: str) -> list[str]:
    """What a test module takes from the project's private code: a `_name` imported from it, or
    called as an attribute of a name imported from it (`rows._helper(...)`)."""
    tree = ast.parse(source)
    ours: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in _OURS:
            ours.update(a.asname or a.name for a in node.names)
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names if _private(a.name)]
        elif isinstance(node, ast.Import):
            ours.update(a.asname or a.name.split(".")[0] for a in node.names if a.name.split(".")[0] in _OURS)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _private(node.func.attr)
                and isinstance(node.func.value, ast.Name) and node.func.value.id in ours):
            found.append(f"line {node.lineno}: calls {node.func.value.id}.{node.func.attr}")
    return found


def test_tests_go_through_public_interfaces():
    """No test imports or calls a private function of dashboard/ or pricing/: tests hold the
    public contract, which a private helper may change under without a word."""
    found = {path.relative_to(REPO).as_posix(): reaches for path in sorted((REPO / "tests").rglob("*.py"))
             if "node_modules" not in path.parts and (reaches := private_reaches(path.read_text(encoding="utf-8")))}
    assert not found, f"tests reaching private code: {found}"


def test_the_private_scan_sees_a_private_reach():
    source = ("from dashboard.exports import _cell, focus_csv\nfrom dashboard.warehouse import rows as db\n"
              "import json\ndb._count(1)\njson._default(2)\ndb.public(3)\n")
    assert private_reaches(source) == ["line 1: imports _cell", "line 4: calls db._count"]
