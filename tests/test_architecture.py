"""The layout rules of docs/architecture.md, checked on the source: one-way imports between packages and the
driver contract covering what the registry promises."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fiscald.drivers.base import Handlers
from fiscald.drivers.registry import SUPPORTED, Supported
from fiscald.drivers.simulated.register import SimulatedRegister
from fiscald.operations import OPERATIONS

SRC = Path(__file__).resolve().parent.parent / "src" / "fiscald"
# package -> the packages it must never import (directly or through `from fiscald import x`)
FORBIDDEN = {
    "models": {"core", "drivers", "interfaces", "store", "commands", "app", "cli"},
    "operations": {"core", "drivers", "interfaces", "store", "models", "commands", "app", "cli"},
    "store": {"core", "drivers", "interfaces", "commands", "app", "cli", "emulators"},
    "drivers": {"core", "interfaces", "commands", "app", "cli", "emulators"},
    "core": {"interfaces", "commands", "app", "cli", "emulators"},
    "interfaces": {"drivers", "commands", "cli", "emulators"},
    "central": {"core", "drivers", "interfaces", "commands", "app", "cli", "emulators"},
    "deploy": {"commands", "cli"},
    # a device on the wire: built on the drivers' framing and the simulator's rules, used only by `fiscald emulate`
    "emulators": {"core", "interfaces", "commands", "app", "cli"},
}


def _package(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return parts[0]


def _imports(path: Path) -> set[str]:
    """The top-level fiscald packages/modules ``path`` imports (``fiscald.core.jobs`` -> ``core``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "fiscald":
                if len(parts) > 1:
                    found.add(parts[1])
                else:
                    found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "fiscald" and len(parts) > 1:
                    found.add(parts[1])
    return found


def test_imports_flow_one_way() -> None:
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        package = _package(path)
        for target in _imports(path) & FORBIDDEN.get(package, set()):
            wrong.append(f"{path.relative_to(SRC)} imports {target}")
    assert wrong == []


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        package = _package(path)
        graph.setdefault(package, set()).update(t for t in _imports(path) if t != package)
    seen: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> None:
        if node in stack:
            raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(node):], node]))
        if node in seen:
            return
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            visit(target)
        stack.pop()
        seen.add(node)

    for package in sorted(graph):
        visit(package)


@pytest.mark.parametrize("entry", SUPPORTED, ids=lambda e: f"{e.kind}-{e.manufacturer}")
def test_every_driver_handles_what_the_registry_promises(entry: Supported) -> None:
    """A driver's handler table (built per instance) covers every operation its models offer."""
    handlers: Handlers = entry.driver.build_handlers(object.__new__(entry.driver))
    for model in entry.models:
        assert entry.operations(model) <= handlers.names, (entry.manufacturer, model)
    assert all(OPERATIONS[name].kind == entry.kind for name in handlers.names)


def test_a_model_lacking_an_operation_does_not_offer_it() -> None:
    entry = Supported("Brand", ("Full", "Small"), ("Serial",), SimulatedRegister,
                      lacking={"Small": frozenset({"open_drawer", "print_duplicate"})})
    assert "open_drawer" in entry.operations("Full")
    assert entry.operations("Full") - entry.operations("Small") == {"open_drawer", "print_duplicate"}
    assert "pos_sale" not in entry.operations("Full")


def test_the_register_core_knows_no_brand() -> None:
    """drivers/register/ (the receipt lifecycle every register shares) is written against RegisterProtocol only:
    it imports no brand's package, so a brand is added without touching it (docs/architecture.md)."""
    drivers = SRC / "drivers"
    brands = {p.name for p in drivers.iterdir() if p.is_dir() and (p / "__init__.py").exists()} - {"register"}
    wrong = []
    for path in sorted((drivers / "register").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([f"{node.module}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom)
                     and node.module else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                parts = name.split(".")
                if parts[:2] == ["fiscald", "drivers"] and len(parts) > 2 and parts[2] in brands:
                    wrong.append(f"{path.relative_to(SRC)} imports {name}")
    assert brands >= {"datecs", "isl", "simulated"} and wrong == []
