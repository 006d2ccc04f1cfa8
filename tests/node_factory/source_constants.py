"""Module-level constants of source files the backend venv cannot import (the ESPHome component, the Home
Assistant integration), for tests that hold them to the node_factory reference."""

from __future__ import annotations

import ast
from pathlib import Path


def source_constants(path: Path, names: set[str]) -> dict[str, int]:
    """Module-level integer constants of a source file that this venv cannot import (ESPHome, Home Assistant),
    evaluated from their literal arithmetic."""
    found: dict[str, int] = {}
    for node in ast.parse(path.read_text()).body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target, value = node.targets[0], node.value
        pairs = (
            zip(target.elts, value.elts, strict=True)
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple)
            else [(target, value)]
        )
        for name, expr in pairs:
            if isinstance(name, ast.Name) and name.id in names:
                found[name.id] = eval(compile(ast.Expression(expr), str(path), "eval"), {"__builtins__": {}})
    return found
