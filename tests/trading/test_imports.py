"""The domain never imports the UI: nothing under trading/ imports dashboard."""

from __future__ import annotations

import ast
from pathlib import Path

import trading

TRADING = Path(trading.__file__).resolve().parent


def _dashboard_imports(source: str) -> list[int]:
    """Line numbers of every import of the dashboard package, at any depth of the module."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name == "dashboard" or name.startswith("dashboard.") for name in names):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_walk_finds_an_import_inside_a_function():
    source = "def f():\n    from dashboard import broadcast\n\nimport dashboard.views\n"
    assert _dashboard_imports(source) == [2, 4]
    assert _dashboard_imports("from trading import events\nimport dashboards\n") == []


def test_no_module_under_trading_imports_dashboard():
    modules = sorted(TRADING.rglob("*.py"))
    assert len(modules) > 50  # the walk really covers the package
    offenders = [
        f"{path.relative_to(TRADING.parent)}:{line}"
        for path in modules
        for line in _dashboard_imports(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
