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
`workflow.unsafe.imports_passed_through()` blocks included; a relative import counts as the
absolute one it names. `tests/` may import anything and is not part of the graph.

Beside the layers, between modules:

    no cycle      between any two modules, inside a package included (`activities.sms` and
                  `activities.twilio_gateway` both import `activities.gateway`, neither the
                  other); a module importing its own package's `__init__` is not an edge
    pages         `api.pages.*` never import `api.routes.*`: a page calls the application
                  services (`api.services.*`) the routes call, never a route's function; the
                  services import neither, and routes never import pages
    rights        no module of core, the activities, the workflows, the API or the workers
                  names a role (`Role.TELECALLER`...): the roles each right admits are
                  `core/permissions.py`'s

The test fails on any upward import, cycle or forbidden import, naming it (docs/architecture.md
describes the layers and these rules).
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
    return {
        (importer, imported): where
        for (importer, imported), where in module_imports().items()
        if importer.split(".")[0] != imported.split(".")[0]
    }


def _package_of(path: Path, module: str) -> str:
    """The name relative imports in `path` resolve against: a package's `__init__` resolves
    inside itself, a module inside its package (`module` + a placeholder last part)."""
    return f"{module}.__init__" if path.name == "__init__.py" else module


def module_imports() -> dict[tuple[str, str], list[str]]:
    """(importing module, imported module) -> where, for every import of one module of ours by
    another, inside a package included; a module importing a package that contains it (its
    `__init__`, which Python runs first anyway) is left out."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for package in RANK:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = _module_name(path)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for target, line in imported_names(tree, _package_of(path, module)):
                if target.split(".")[0] not in RANK:
                    continue
                imported = _known_module(target)
                if imported == module or module.startswith(f"{imported}."):
                    continue
                found[(module, imported)].append(f"{path.relative_to(ROOT)}:{line}")
    return found


def module_graph(edges: dict[tuple[str, str], list[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for importer, imported in edges:
        graph[importer].add(imported)
    return graph


def imported_names(tree: ast.AST, module: str = "") -> list[tuple[str, int]]:
    """Every import anywhere in `tree` (module level, functions, `with` blocks), as (dotted
    name, line); `from core import audit` names core.audit. A relative import is resolved
    against `module`, the importing module's own dotted name (a package's is its own)."""
    names: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + 1]
                base = ".".join([*anchor[:-1], base] if base else anchor[:-1])
            if base:
                names += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
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
    """A cycle through every strongly connected group of nodes (Tarjan's algorithm, then the
    shortest way round from the group's smallest name), each as [a, b, ..., a]; none when the
    graph has no cycle. Linear in the graph's size: the module graph has hundreds of nodes."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                connect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(_way_round(graph, group) for group in groups)


def _way_round(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """The shortest cycle through the smallest member of `group` (a strongly connected group),
    by a breadth-first walk inside the group."""
    start = min(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for successor in sorted(graph.get(node, set()) & group):
                if successor == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if successor not in came_from:
                    came_from[successor] = node
                    following.append(successor)
        frontier = following
    raise AssertionError(f"not a strongly connected group: {sorted(group)}")


def test_no_cycle_between_packages() -> None:
    edges = imports()
    found = cycles(package_graph(edges))
    assert not found, "import cycles between packages: " + "; ".join(
        " -> ".join(cycle) for cycle in found
    )


def test_no_cycle_between_modules() -> None:
    edges = module_imports()
    found = cycles(module_graph(edges))
    assert not found, "import cycles between modules: " + "; ".join(
        " -> ".join(cycle) + f" ({edges[(cycle[0], cycle[1])][0]})" for cycle in found
    )


# Inside the API: pages call services, never routes; services serve both and import neither;
# routes never import pages (`api.main` assembles them all).
FORBIDDEN_IN_API = [
    ("api.pages", "api.routes", "pages importing routes (call api.services instead)"),
    ("api.services", "api.routes", "services importing routes"),
    ("api.services", "api.pages", "services importing pages"),
    ("api.routes", "api.pages", "routes importing pages"),
]


def forbidden_in_api() -> list[str]:
    edges = sorted(module_imports().items())
    return [
        f"{why}: {where[0]}: {importer} imports {imported}"
        for importers, importeds, why in FORBIDDEN_IN_API
        for (importer, imported), where in edges
        if _within(importer, importers) and _within(imported, importeds)
    ]


def test_pages_do_not_import_routes() -> None:
    found = forbidden_in_api()
    assert not found, "\n".join(found)


# Where a role may be named: the rights themselves, the directory's development tokens and the
# first administrator the admin command creates.
ROLE_NAMERS = {"core/permissions.py", "core/auth.py", "core/admin.py"}


def roles_named() -> list[str]:
    """Every `Role.<MEMBER>` in the running code (core, activities, workflows, the API, the
    workers) outside ROLE_NAMERS, as "path:line Role.MEMBER". The vocabulary (`schemas/`)
    defines the roles; the harness and the benchmarks, like the tests, create users holding
    them."""
    found: list[str] = []
    for package in ("core", "activities", "workflows", "api", "workers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            if where in ROLE_NAMERS:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=where)
            found += [
                f"{where}:{node.lineno} Role.{node.attr}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "Role"
            ]
    return found


def test_rights_are_named_in_one_module() -> None:
    named = roles_named()
    assert not named, "roles named outside core/permissions.py:\n" + "\n".join(named)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


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
    assert cycles({"a": {"b"}, "b": {"c"}, "d": {"a"}}) == []


def test_the_module_walk_sees_cycles_inside_a_package_and_relative_imports() -> None:
    relative = "from . import files\nfrom .web import render\nfrom .. import errors\n"
    expected = ["api.pages.files", "api.pages.web.render", "api.errors"]
    assert [name for name, _ in imported_names(ast.parse(relative), "api.pages.cases")] == expected
    # A package's own `__init__` resolves inside the package.
    assert [
        name for name, _ in imported_names(ast.parse(relative), "api.pages.__init__")
    ] == expected
    edges = module_imports()
    # Inside one package: seen (the layers' walk leaves these out).
    assert ("api.pages.cases", "api.pages.files") in edges
    assert ("activities.sms", "activities.gateway") in edges
    assert ("activities.twilio_gateway", "activities.gateway") in edges
    # Two modules of one package importing each other, lazily: a cycle, named.
    graph = {"activities.sms": {"activities.twilio_gateway"}}
    graph["activities.twilio_gateway"] = {"activities.sms", "core.settings"}
    assert cycles(graph) == [["activities.sms", "activities.twilio_gateway", "activities.sms"]]
    # The shortest way round a group with more than one cycle through its smallest member.
    group = {"a": {"b", "c"}, "b": {"c"}, "c": {"a"}}
    assert cycles(group) == [["a", "c", "a"]]
