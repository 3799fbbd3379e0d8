"""No import cycle between the top-level packages, and every import points down the layers.

The layers, lowest first (a package imports only from layers below it):

    schemas      the domain's vocabulary: enums, reference data, the calendar (IST, working
                 days, sittings), the escalation ladder, policy, the message catalogues and
                 their words, the models that travel between the API, workflows and activities
    core         settings, the database, its tables and the read-model queries the API and
                 the activities share, holidays and ladder configuration, the Temporal
                 connection, logging, codec, tracing, the `make run` launcher, admin CLI
    activities   Temporal activities: all I/O of a case (read model, SMS, directory)
    workflows    deterministic workflow code, and the Temporal clients of workflows: the
                 starter of a case's workflow and the activities that start or update
                 workflows (reconciliation, a review's deliveries to its cases)
    api, workers the processes: the HTTP API and the Temporal workers (and replay)
    harness      the development harness (child processes, factories) for tests and bench
    bench        the benchmarks

The graph is built from the source by an AST walk over every `.py` file of those packages:
`import x.y` and `from x.y import z` at any depth count, lazy imports inside functions and
`workflow.unsafe.imports_passed_through()` blocks included. `tests/` may import anything and
is not part of the graph.

The test fails on any upward import or cycle, naming it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.paths import ROOT

LAYERS: list[tuple[str, ...]] = [
    ("schemas",),
    ("core",),
    ("activities",),
    ("workflows",),
    ("api", "workers"),
    ("harness",),
    ("bench",),
]
RANK = {package: rank for rank, group in enumerate(LAYERS) for package in group}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports() -> dict[tuple[str, str], list[str]]:
    """(importing module, imported module) -> where, for every import of one of our packages
    from another of them."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for package in RANK:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = _module_name(path)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for target, line in imported_names(tree):
                top = target.split(".")[0]
                if top in RANK and top != package:
                    where = f"{path.relative_to(ROOT)}:{line}"
                    found[(module, _known_module(target))].append(where)
    return found


def imported_names(tree: ast.AST) -> list[tuple[str, int]]:
    """Every absolute import anywhere in `tree` (module level, functions, `with` blocks), as
    (dotted name, line); `from core import audit` names core.audit."""
    names: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return names


def _known_module(dotted: str) -> str:
    """The longest prefix of `dotted` that is a module or package of ours."""
    parts = dotted.split(".")
    while parts:
        candidate = ROOT.joinpath(*parts)
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return ".".join(parts)
        parts.pop()
    return dotted


def package_graph(edges: dict[tuple[str, str], list[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for importer, imported in edges:
        graph[importer.split(".")[0]].add(imported.split(".")[0])
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle found by a depth-first walk, each once (rotated to start at its
    smallest name)."""
    found: set[tuple[str, ...]] = set()

    def walk(node: str, path: list[str]) -> None:
        for successor in sorted(graph.get(node, ())):
            if successor in path:
                cycle = path[path.index(successor) :]
                start = cycle.index(min(cycle))
                found.add(tuple(cycle[start:] + cycle[:start]))
            else:
                walk(successor, [*path, successor])

    for node in sorted(graph):
        walk(node, [node])
    return [[*cycle, cycle[0]] for cycle in sorted(found)]


def test_no_cycle_between_packages() -> None:
    edges = imports()
    found = cycles(package_graph(edges))
    assert not found, "import cycles between packages: " + "; ".join(
        " -> ".join(cycle) for cycle in found
    )


def test_every_import_points_down_the_layers() -> None:
    upward = [
        f"{where[0]}: {importer} imports {imported}"
        for (importer, imported), where in sorted(imports().items())
        if RANK[imported.split(".")[0]] > RANK[importer.split(".")[0]]
    ]
    assert not upward, "imports pointing up the layers:\n" + "\n".join(upward)


def test_the_walk_sees_lazy_and_passed_through_imports() -> None:
    source = """
import core.db
with workflow.unsafe.imports_passed_through():
    from activities import sms

def later():
    from workflows.start import start_complaint_workflow
"""
    assert [name for name, _ in imported_names(ast.parse(source))] == [
        "core.db",
        "activities.sms",
        "workflows.start.start_complaint_workflow",
    ]
    assert ("workflows.outbox", "activities.sms") in imports()  # a passed-through import
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
