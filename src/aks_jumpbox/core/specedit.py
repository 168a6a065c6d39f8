"""Change pinned versions in jumpbox.yaml in place, keeping its comments and layout.

Re-dumping the YAML would drop every comment the user wrote; instead the line each pin is on
(known from the located document) is edited, and the result is re-parsed to prove the edit.
"""

from __future__ import annotations

import re

from aks_jumpbox.core.catalog import Catalog
from aks_jumpbox.core.errors import Problem, SpecError
from aks_jumpbox.core.spec import Spec, parse_spec
from aks_jumpbox.core.yamlfile import LocatedDocument, load_yaml

Path = tuple[str, ...]


def pin_path(doc: LocatedDocument, name: str) -> Path:
    """Where a pin's version is written: tools.NAME, tools.NAME.version, or azure_cli.version."""
    if name == "azure-cli":
        return ("azure_cli", "version")
    value = (doc.data.get("tools") or {}).get(name)
    return ("tools", name, "version") if isinstance(value, dict) else ("tools", name)


def _edit_line(line: str, key: str, old: str, new: str) -> str | None:
    start = line.find(f"{key}:")
    start = 0 if start < 0 else start + len(key) + 1
    # The version as written: maybe a "v" prefix, maybe quoted; never part of a longer version.
    pattern = re.compile(rf"(?<![0-9A-Za-z.])(v?){re.escape(old)}(?![0-9A-Za-z.])")
    m = pattern.search(line, start)
    if not m:
        return None
    return line[: m.start()] + m.group(1) + new + line[m.end() :]


def bump_pins(text: str, label: str, changes: dict[str, tuple[str, str]], catalog: Catalog) -> tuple[str, Spec]:
    """text with each pin name -> (old, new) version changed; returns the new text and its spec."""
    doc = load_yaml(text, label)
    lines = text.splitlines(keepends=True)
    for name, (old, new) in sorted(changes.items()):
        path = pin_path(doc, name)
        number = doc.lines.get(path)
        edited = _edit_line(lines[number - 1], path[-1], old, new) if number else None
        if edited is None or number is None:
            raise SpecError(
                [
                    Problem(
                        label,
                        number,
                        ".".join(path),
                        f"could not find version {old} to change it to {new}; edit it by hand",
                    )
                ]
            )
        lines[number - 1] = edited
    out = "".join(lines)
    spec = parse_spec(load_yaml(out, label), catalog)
    for name, (_, new) in changes.items():
        got = spec.azure_cli.version if name == "azure-cli" else spec.tools[name].version
        if got != new:
            raise SpecError(
                [
                    Problem(
                        label,
                        None,
                        ".".join(pin_path(doc, name)),
                        f"editing the version to {new} gave {got}; edit it by hand",
                    )
                ]
            )
    return out, spec
