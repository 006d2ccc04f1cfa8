"""The held-out generators stay independent of the training ones: no import of the training corpus, the
training code or the reference features (they must not share a single function)."""

from __future__ import annotations

import ast
from pathlib import Path

import node_factory.heldout

FORBIDDEN = ("node_factory.corpus", "node_factory.training", "node_factory.reference", "node_factory.evaluation")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
    return names


def test_heldout_imports_nothing_of_the_training_side() -> None:
    root = Path(node_factory.heldout.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert files
    for path in files:
        for name in _imports(path):
            assert not name.startswith(FORBIDDEN), f"{path.relative_to(root)} imports {name}"
            # relative imports may only stay inside the package: one dot from a module of its root,
            # two from its subpackages
            depth = len(path.relative_to(root).parts)
            assert not name.startswith("." * (depth + 1)), f"{path.relative_to(root)} imports {name} from outside"
