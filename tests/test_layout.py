"""The package's layout rules, checked on the source: no import cycles (counting imports
inside functions and under TYPE_CHECKING), no module imports trio, the library never
imports the command line, and each layer imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "botkit"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, anywhere in the file, resolved to full names."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # ``from pkg import mod`` imports mod; ``from mod import name`` imports mod.
            submodules = {f"{module}.{alias.name}" for alias in node.names} & set(_ALL)
            out.update(submodules or {module})
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


_ALL = _modules()
MODULES = _ALL
GRAPH = {name: {m for m in _imports(name, path) if m in MODULES and m != name} for name, path in MODULES.items()}


def test_no_import_cycles() -> None:
    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in GRAPH[start]:
            if nxt == goal or (nxt not in seen and (seen.add(nxt) or reaches(nxt, goal, seen))):
                return True
        return False

    # A package importing its own submodules is how re-exports work: not a cycle.
    cycles = [(a, b) for a in GRAPH for b in GRAPH[a]
              if not b.startswith(a + ".") and not a.startswith(b + ".") and reaches(b, a, set())]
    assert cycles == []


def test_no_module_imports_trio() -> None:
    users = sorted(name for name, path in MODULES.items()
                   if any(m == "trio" or m.startswith("trio.") for m in _imports(name, path)))
    assert users == []


def test_layers_import_downwards_only() -> None:
    below = {
        # _orders: value types like _events (a venue's order messages encode them).
        "botkit.protocol": ("botkit._events", "botkit._orders", "botkit._exceptions", "botkit._symbols",
                            "botkit._suggest", "botkit.protocol"),
        "botkit.sources": ("botkit._events", "botkit._exceptions", "botkit._symbols", "botkit._version",
                           "botkit._redact", "botkit._suggest", "botkit.protocol", "botkit.sources"),
        "botkit.execution": ("botkit._events", "botkit._exceptions", "botkit._symbols", "botkit._clock", "botkit._decimals",
                             "botkit._orders", "botkit.execution"),
        "botkit.live": ("botkit._events", "botkit._exceptions", "botkit._symbols", "botkit._clock", "botkit._decimals",
                        "botkit._orders", "botkit._redact", "botkit._version", "botkit._failpoints", "botkit.protocol",
                        "botkit.sources", "botkit.execution", "botkit.live"),
        "botkit.journal": ("botkit._clock", "botkit._events", "botkit._exceptions", "botkit._orders", "botkit._version",
                           "botkit.execution", "botkit.journal"),
        "botkit.history": ("botkit._events", "botkit._exceptions", "botkit._symbols", "botkit.protocol",
                           "botkit.history"),
    }
    wrong = []
    for name in MODULES:
        layer = next((layer for layer in below if name == layer or name.startswith(layer + ".")), None)
        for dep in GRAPH[name]:
            into_cli = dep.startswith("botkit.cli") and not name.startswith(("botkit.cli", "botkit.__main__"))
            upwards = layer is not None and not dep.startswith(below[layer])
            if into_cli or upwards:
                wrong.append((name, dep))
    assert wrong == []
