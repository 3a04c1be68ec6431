"""The house rules, checked on the source: floors, sizes, no import circles, reachable names.

The package tells its story bottom to top, and a lower floor never imports a higher one (not even
inside a function): the network; back to front; front to back; the evidence; the faces.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import weightwise

SRC = Path(weightwise.__file__).parent

FLOORS: dict[str, int] = {
    "_version": 0,
    "_util": 0,
    "errors": 0,
    "net": 1,
    "checks": 1,
    "checkpoints": 1,
    "datasets": 1,
    "io": 1,
    "backpropagation": 2,
    "layerwise": 3,
    "evidence": 4,
    "presets": 4,
    "estimators": 5,
    "interop": 5,
    "cli": 6,
}
"""Each top-level module or subpackage, by floor: it may import its own floor and those below."""

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
"""Body lines, docstring excluded; the few longer functions are listed with their reason."""

LONG_FUNCTIONS: dict[str, str] = {}
"""``"module:function"`` -> why it is longer than :data:`MAX_FUNCTION_LINES`."""


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(("weightwise", *parts)).removesuffix(".__init__")
        yield name, path


def _imported(name: str, path: Path, top_level_only: bool) -> Iterator[str]:
    """Absolute names of the weightwise modules that ``path`` imports."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                # `from . import x` and `from .pkg import module` name a module when one exists.
                candidate = f"{target}.{alias.name}"
                yield candidate if _is_module(candidate) else target
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("weightwise"))


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


def _floor(module: str) -> int | None:
    parts = module.split(".")
    return FLOORS.get(parts[1]) if len(parts) > 1 else None


def test_every_top_level_module_has_a_floor() -> None:
    names = {p.name.removesuffix(".py") for p in SRC.iterdir() if p.suffix == ".py" or p.is_dir()}
    names -= {"__init__", "__main__", "__pycache__", "py.typed"}
    assert names <= set(FLOORS), f"give these a floor in FLOORS: {sorted(names - set(FLOORS))}"


def test_no_floor_imports_a_higher_one() -> None:
    offences = []
    for name, path in _modules():
        own = _floor(name)
        if own is None:
            continue
        for target in _imported(name, path, top_level_only=False):
            floor = _floor(target)
            if floor is not None and floor > own:
                offences.append(f"{name} (floor {own}) imports {target} (floor {floor})")
    assert not offences, "\n".join(offences)


def _find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of ``graph`` (each node -> the nodes it imports), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (circle := visit(nxt)):
                return circle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (circle := visit(node)):
            return circle
    return None


def test_the_circle_finder_finds_circles() -> None:
    assert _find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_circle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circles() -> None:
    graph: dict[str, set[str]] = {name: set() for name, _ in _modules()}
    for name, path in _modules():
        imported = set(_imported(name, path, top_level_only=True))
        # Importing one's own package (its __init__) is how Python loads a module, not a circle.
        graph[name] = {t for t in imported & set(graph) if t != name and not name.startswith(t + ".")}
    circle = _find_circle(graph)
    assert circle is None, "import circle: " + " -> ".join(circle or [])


@pytest.mark.parametrize(("name", "path"), list(_modules()), ids=lambda v: str(v))
def test_module_size(name: str, path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines; split it by concern"


def test_function_length() -> None:
    long = {}
    for name, path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]  # the docstring
            if not body:
                continue
            lines = body[-1].end_lineno - body[0].lineno + 1  # type: ignore[operator]
            key = f"{name.removeprefix('weightwise.')}:{node.name}"
            if lines > MAX_FUNCTION_LINES and key not in LONG_FUNCTIONS:
                long[key] = lines
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


SUBPACKAGES = sorted(p.name for p in SRC.iterdir() if (p / "__init__.py").is_file())


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_every_subpackage_is_reachable_by_its_name(name: str) -> None:
    module = getattr(weightwise, name)
    assert module is importlib.import_module(f"weightwise.{name}")
