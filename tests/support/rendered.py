"""Read rendered output back the way its consumers do: deb822 as apt would, the image manifest as
JSON, provision.sh with `bash -n`, and every ARM string as ARM would. Used to prove a value that
got through validation is inert where it lands."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aks_jumpbox.core.arm_strings import is_expression

# The expressions the renderer writes itself (render/arm.py, render/network.py), and nothing else.
OWN_EXPRESSIONS = ("[reference(", "[resourceId(", "[format('{0}/rcg-")


class Deb822Error(AssertionError):
    pass


_FIELD = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]*): (\S(?:.*\S)?)")


def parse_deb822(text: str) -> list[dict[str, str]]:
    """Strict deb822 (man 5 deb822, sources.list(5)): paragraphs of `Field: value` lines separated by
    blank lines. Stricter than apt on purpose: no continuation lines, comments or repeated fields,
    since the tool never writes them; any of them in the output means a value broke out of its field."""
    paragraphs: list[dict[str, str]] = []
    for block in text.strip("\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            m = _FIELD.fullmatch(line)
            if not m:
                raise Deb822Error(f"not a single-line field: {line!r}")
            if m[1].lower() in (f.lower() for f in fields):
                raise Deb822Error(f"field {m[1]} repeated")
            fields[m[1]] = m[2]
        paragraphs.append(fields)
    return paragraphs


def _config_block(script: str) -> str:
    """The rendered variable block of provision.sh (shell assignments, quoted)."""
    start = script.index("\nexport PATH=") + 1
    start = script.index("\n", start) + 1
    end = script.index("\nWORK=/var/tmp/aks-jumpbox\n")
    return script[start:end]


def apt_sources(provision: str, workdir: Path) -> dict[str, str]:
    """Run provision.sh's own code that writes the .sources files (its printf lines, with its variable
    block) into workdir; return {file name: text}."""
    os_block = re.search(r"\n  \{\n(.*?)\n  \} > /etc/apt/sources\.list\.d/aks-jumpbox-os\.sources\n", provision, re.S)
    az_block = re.search(r"\n(printf 'Types: deb\\nURIs: %s\\nSuites: %s\\nComponents: main.*?)"
                         r" > /etc/apt/sources\.list\.d/aks-jumpbox-azure-cli\.sources\n", provision, re.S)
    assert os_block and az_block, "provision.sh no longer writes the .sources files as this test expects"
    code = "\n".join([
        "set -euo pipefail", _config_block(provision),
        f'if [ -n "$APT_ARCHIVE" ]; then {{\n{os_block[1]}\n}} > "$OUT/aks-jumpbox-os.sources"; fi',
        f'{az_block[1]} > "$OUT/aks-jumpbox-azure-cli.sources"',
    ])
    subprocess.run(["bash", "-c", code], check=True, env={"OUT": str(workdir), "PATH": "/usr/bin:/bin"},
                   capture_output=True, text=True)
    return {p.name: p.read_text() for p in sorted(workdir.glob("*.sources"))}


def manifest_entry(provision: str, **values: str) -> dict[str, Any]:
    """One tool's entry of the image's manifest.json, printed by provision.sh's own printf."""
    m = re.search(r"manifest_tools\+=\(\"\$\((printf '\{.*?\}' \\\n\s*\"\$name\".*?)\)\"\)", provision, re.S)
    assert m, "provision.sh no longer writes manifest entries as this test expects"
    out = subprocess.run(["bash", "-c", m[1]], env={"PATH": "/usr/bin:/bin", **values}, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def bash_syntax_ok(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)


def arm_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string of a JSON document with where it is; property names included (ARM evaluates them)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield f"{path}.{k} (name)", k
            yield from arm_strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from arm_strings(v, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value


def foreign_expressions(files: dict[str, str]) -> list[str]:
    """Strings of the rendered ARM templates that ARM would evaluate but the renderer did not write."""
    bad = []
    for rel, text in files.items():
        if rel.startswith("arm/"):
            for where, s in arm_strings(json.loads(text)):
                if is_expression(s) and not s.startswith(OWN_EXPRESSIONS):
                    bad.append(f"{rel}{where}: {s!r}")
    return bad
