"""The layout rules of docs/architecture.md, checked on the source: one-way imports between packages and the
driver contract covering what the registry promises."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fiscald.drivers.base import Handlers
from fiscald.drivers.registry import SUPPORTED
from fiscald.drivers.simulated.register import SimulatedRegister
from fiscald.drivers.supported import Supported
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


def _modules(path: Path) -> set[str]:
    """The fiscald modules ``path`` imports, dotted after ``fiscald.`` (``from fiscald.drivers.isl import framing``
    -> ``drivers.isl.framing`` and ``drivers.isl``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("fiscald."):
            base = node.module.removeprefix("fiscald.")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("fiscald.") for a in node.names if a.name.startswith("fiscald."))
    return found


BRANDS = ("datecs", "isl", "zfp", "tremol", "simulated", "viva")
# inside drivers/: sub-package -> the sub-packages it may import besides register/ and the top-level modules. The
# register core knows no brand; a wire layer (isl framing/session, zfp) knows no brand that uses it; a brand knows
# its wire layer only. The Viva terminal prints its slips with the simulator's text printout.
MAY_USE = {"register": (), "isl": (), "zfp": (), "datecs": ("isl",), "tremol": ("zfp",), "simulated": (),
           "viva": ("simulated.printout",)}
# what an emulator may take from drivers/: the frame layers and the simulator it is built on, never a driver's
# logic (an emulator written from the driver's assumptions proves nothing)
EMULATOR_MAY_USE = ("drivers.base", "drivers.isl.framing", "drivers.zfp.framing", "drivers.simulated")


def test_brand_packages_stay_apart() -> None:
    wrong = []
    drivers = SRC / "drivers"
    for path in sorted(drivers.rglob("*.py")):
        parts = path.relative_to(drivers).parts
        own = parts[0] if len(parts) > 1 else None
        if own is None and path.name == "registry.py":
            continue  # the one place that lists every brand
        allowed = ("register", *MAY_USE.get(own or "", ())) if own is not None else ()
        for module in _modules(path):
            target = module.removeprefix("drivers.")
            head = target.split(".")[0]
            if not module.startswith("drivers.") or head not in (*BRANDS, "register") or head == own:
                continue  # not a driver sub-package (base, transport, supported), or its own
            if any(target == a or target.startswith(a + ".") for a in allowed):
                continue
            wrong.append(f"drivers/{path.relative_to(drivers)} imports {module}")
    assert wrong == []


def test_emulators_use_no_driver_logic() -> None:
    wrong = [f"{path.relative_to(SRC)} imports {module}"
             for path in sorted((SRC / "emulators").rglob("*.py")) for module in _modules(path)
             if module.startswith("drivers.")
             and not any(module == a or module.startswith(a + ".") for a in EMULATOR_MAY_USE)
             and module not in ("drivers.isl", "drivers.zfp")]
    assert wrong == []
