"""Modules import downwards: no import cycle inside an app, counting imports inside functions
too (they hide a cycle rather than remove it)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ["config", "orders", "orgs", "provisioning", "onboarding"]


def modules(app):
    found = {}
    for path in (ROOT / app).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


def imports(path, known):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                yield target if target in known else node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def a_cycle(graph):
    """One cycle of `graph` ({node: set of nodes}) as a list, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


@pytest.mark.parametrize("app", APPS)
def test_no_import_cycle_inside_an_app(app):
    known = modules(app)
    graph = {name: {target for target in imports(path, known) if target in known and target != name}
             for name, path in known.items()}
    assert a_cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle():
    assert a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert a_cycle({"a": {"b"}, "b": set()}) is None
