"""The layers contract of src/aks_jumpbox, read from the source with `ast`.

Direction (an arrow reads "may import"):

    cli -> azure, render, preflight, report, vm -> core -> adapters -> core.errors
                                                                 -> aks_jumpbox (the version)

- ``cli`` is the composition root: the only package that may import ``azure`` next to the others
  (it builds ``LiveSource(az)`` and hands it to ``run_checks``). Nothing imports ``cli``.
- ``azure``, ``render``, ``preflight``, ``report`` and ``vm`` (the local VM of `try`) import ``core`` and
  ``adapters``, never each
  other, with one exception: ``azure`` implements preflight's ``Source`` port, so it may import
  ``aks_jumpbox.preflight.source`` (that module only). ``preflight`` never imports ``azure``.
- ``core`` imports none of the above. It may import ``adapters`` (bounded file reads).
- ``adapters`` (files, HTTP: the I/O edges) may import only ``core.errors``, the error vocabulary every
  layer raises. ``core.errors`` is therefore its own unit at the bottom, importing nothing of the
  project, so core -> adapters -> core.errors is no cycle.
- The Azure SDK (``azure.*``) is imported only under ``aks_jumpbox/azure/``.

Every import counts: module level, inside functions (deferred), under ``TYPE_CHECKING``, relative,
and ``importlib.import_module("aks_jumpbox...")`` with a literal name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "aks_jumpbox"
BASE = frozenset({"adapters", "errors", "top", "data"})
MIDDLE = BASE | {"core"}
# unit -> the units it may import (its own unit is always allowed).
ALLOWED: dict[str, frozenset[str]] = {
    "top": frozenset(),
    "errors": frozenset(),
    "data": frozenset(),
    "adapters": frozenset({"errors", "top"}),
    "core": BASE,
    "render": MIDDLE,
    "report": MIDDLE,
    "preflight": MIDDLE,
    "azure": MIDDLE | {"preflight"},
    "vm": MIDDLE,
    "cli": MIDDLE | {"azure", "render", "preflight", "report", "vm"},
}
# (importer unit, imported unit) -> the only modules of the imported unit it may name.
NARROW: dict[tuple[str, str], frozenset[str]] = {
    ("azure", "preflight"): frozenset({f"{PACKAGE}.preflight.source"}),
}
SDK = "azure"  # the Azure SDK's namespace package
SDK_HOME = "azure"  # the only unit that may import it


@dataclass(frozen=True)
class Import:
    file: Path
    line: int
    importer: str  # module name of the importing file
    target: str  # absolute module name imported


def unit_of(module: str) -> str:
    parts = module.split(".")
    if parts[:3] == [PACKAGE, "core", "errors"]:
        return "errors"
    return parts[1] if len(parts) > 1 else "top"


def _module_name(root: Path, file: Path) -> str:
    rel = file.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(importer: str, is_package: bool, level: int, module: str | None) -> str:
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, module] if module else base)


def _literal_import(call: ast.Call) -> str | None:
    """The module of `importlib.import_module("...")` or `__import__("...")` with a literal name."""
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if called in ("import_module", "__import__") and call.args and isinstance(call.args[0], ast.Constant):
        value = call.args[0].value
        return value if isinstance(value, str) else None
    return None


def imports(root: Path) -> Iterator[Import]:
    """Every import of every module under root (the package folder, e.g. src/aks_jumpbox)."""
    modules = {_module_name(root, f) for f in root.rglob("*.py")}
    for file in sorted(root.rglob("*.py")):
        importer = _module_name(root, file)
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(file, node.lineno, importer, alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = (
                    _resolve(importer, file.name == "__init__.py", node.level, node.module)
                    if node.level
                    else node.module or ""
                )
                for alias in node.names:
                    # `from aks_jumpbox import core` imports the package core, not a name of the top.
                    sub = f"{base}.{alias.name}"
                    yield Import(file, node.lineno, importer, sub if sub in modules else base)
            elif isinstance(node, ast.Call) and (name := _literal_import(node)):
                yield Import(file, node.lineno, importer, name)


def violations(
    root: Path,
    allowed: Mapping[str, frozenset[str]] = ALLOWED,
    narrow: Mapping[tuple[str, str], frozenset[str]] = NARROW,
) -> list[str]:
    """One message per import against the contract, naming the file, line, rule and fix."""
    out: list[str] = []
    edges: dict[str, set[str]] = {}
    for imp in imports(root):
        where = f"{imp.file.relative_to(root.parent)}:{imp.line}"
        src = unit_of(imp.importer)
        top = imp.target.split(".")[0]
        if top == SDK:
            if src != SDK_HOME:
                out.append(
                    f"{where}: imports the Azure SDK ({imp.target}); only {PACKAGE}/{SDK_HOME}/ may. "
                    f"Put the SDK call in an {PACKAGE}.{SDK_HOME} module and pass its result in."
                )
            continue
        if top != PACKAGE:
            continue
        dst = unit_of(imp.target)
        if dst == src:
            continue
        edges.setdefault(src, set()).add(dst)
        if src not in allowed or dst not in allowed:
            unknown = src if src not in allowed else dst
            out.append(
                f"{where}: {unknown!r} is not a layer of the contract; add it to ALLOWED in "
                f"tests/support/layers.py with the layers it may import."
            )
        elif dst not in allowed[src]:
            out.append(
                f"{where}: {src} imports {imp.target} ({dst}); {src} may import only "
                f"{', '.join(sorted(allowed[src])) or 'nothing of the project'}. Move the code down a "
                f"layer or pass what it needs in from the caller (cli composes)."
            )
        elif (src, dst) in narrow and imp.target not in narrow[src, dst]:
            out.append(
                f"{where}: {src} imports {imp.target}; of {dst} it may import only "
                f"{', '.join(sorted(narrow[src, dst]))}."
            )
    out += [f"import cycle between packages: {' -> '.join(c)}" for c in cycles(edges)]
    return list(dict.fromkeys(out))  # one message per line, however many names it imports


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of units, as a closed path (a -> b -> a)."""
    found: list[list[str]] = []
    seen: set[str] = set()

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                cycle = path[path.index(nxt) :] + [nxt]
                if not seen & set(cycle):
                    found.append(cycle)
                    seen.update(cycle)
            elif nxt not in seen:
                walk(nxt, [*path, nxt])

    for start in sorted(edges):
        if start not in seen:
            walk(start, [start])
    return found
