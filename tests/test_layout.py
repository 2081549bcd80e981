"""The shape of the code base: no import cycles, layers that point one way, small files.

Imports are read from the source (every ``import`` and ``from ... import``, at module level or
inside functions), so an import hidden in a function body to dodge a cycle still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("envs", "agent", "viz")
ENTRY_POINTS = ("train", "play", "compare")
#: Layer of each top-level name: a module may import only from its own layer or lower ones.
LAYERS = {"envs": 0, "agent": 1, "viz": 2, **{name: 3 for name in ENTRY_POINTS}}
MAX_MODULE_LINES = 600
MAX_ENTRY_POINT_LINES = 250


def project_modules() -> dict[str, Path]:
    """Every module of the project by dotted name (packages by their ``__init__``)."""
    mods = {name: ROOT / f"{name}.py" for name in ENTRY_POINTS}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The project modules that ``path`` (module ``name``) imports, anywhere in the file."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # ``import a.b.c`` imports a, a.b, a.b.c
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = project_modules()
    known = set(mods)
    return {name: imports_of(path, name, known) for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_walker_sees_cycles_and_function_level_imports(tmp_path):
    """The cycle finder reports a two-module cycle made through an import inside a function
    (the walker itself is tested, so the real check below cannot pass vacuously)."""
    a = tmp_path / "a.py"
    a.write_text("import b\n")
    b = tmp_path / "b.py"
    b.write_text("def f():\n    from a import x\n")
    graph = {"a": imports_of(a, "a", {"a", "b"}), "b": imports_of(b, "b", {"a", "b"})}
    assert graph == {"a": {"b"}, "b": {"a"}}
    assert cycles(graph) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    """No set of the project's modules imports itself round, at any depth."""
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_layers_point_one_way():
    """envs imports nothing of agent, viz or the entry points; agent nothing of viz or the
    entry points; viz nothing of the entry points."""
    wrong = []
    for name, targets in import_graph().items():
        layer = LAYERS[name.split(".")[0]]
        for target in targets:
            if LAYERS[target.split(".")[0]] > layer:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


@pytest.mark.parametrize("name", sorted(project_modules()))
def test_files_are_small(name):
    """Every module has at most 600 lines, every entry point at most 250."""
    path = project_modules()[name]
    limit = MAX_ENTRY_POINT_LINES if name in ENTRY_POINTS else MAX_MODULE_LINES
    lines = len(path.read_text().splitlines())
    assert lines <= limit, f"{path.relative_to(ROOT)} has {lines} lines (at most {limit})"


@pytest.mark.parametrize("name", sorted(project_modules()))
def test_every_module_says_what_it_is_for(name):
    """Every module (and package) opens with a docstring."""
    path = project_modules()[name]
    assert ast.get_docstring(ast.parse(path.read_text())), f"{path} has no module docstring"


def test_every_test_states_its_invariant():
    """Every test function in tests/ has a docstring (the invariant it checks)."""
    missing = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            is_test = isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
            if is_test and not ast.get_docstring(node):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not missing, "tests without a docstring:\n" + "\n".join(missing)
