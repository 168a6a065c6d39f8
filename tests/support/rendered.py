"""Read rendered output back the way its consumers do: deb822 as apt would, the image manifest as
JSON (both printed by provision.sh's own functions), provision.sh with `bash -n`, and every ARM
string as ARM would. Used to prove a value that got through validation is inert where it lands."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aks_jumpbox.core.arm_strings import is_expression

# The expressions the renderer writes itself (render/arm.py, render/network.py), and nothing else.
OWN_EXPRESSIONS = (
    "[reference(",
    "[resourceId(",
    "[format('{0}/rcg-",
    "[parameters('ruleCollectionGroupPriority')]",
    # network-spoke.json: attach each NSG to its subnet, keeping the subnet's properties
    "[parameters('attachToSubnets')]",
    "[union(parameters('subnetProperties'), createObject('networkSecurityGroup', "
    "createObject('id', parameters('nsgId'))))]",
)


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


def sourced(
    script: str, code: str, env: dict[str, str] | None = None, *, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess:
    """Run bash code with a rendered script sourced (its main guard keeps main from running)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "script.sh"
        path.write_text(script)
        return subprocess.run(
            ["bash", "-c", f'source "$1"\n{code}', "sourced", str(path)],
            check=check,
            env={"PATH": "/usr/bin:/bin", **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def apt_sources(provision: str, workdir: Path) -> dict[str, str]:
    """Run provision.sh's own functions that print the .sources files; return {file name: text}."""
    code = (
        'if [ -n "$APT_ARCHIVE" ]; then os_sources > "$OUT/aks-jumpbox-os.sources"; fi\n'
        'azure_cli_sources > "$OUT/aks-jumpbox-azure-cli.sources"'
    )
    sourced(provision, code, {"OUT": str(workdir)})
    return {p.name: p.read_text() for p in sorted(workdir.glob("*.sources"))}


def image_manifest(provision: str, verified: dict[str, str] | None = None) -> dict[str, Any]:
    """The image's manifest.json as provision.sh completes it, given the digests it verified."""
    code = "".join(f"VERIFIED[{name}]={digest}\n" for name, digest in (verified or {}).items())
    return json.loads(sourced(provision, code + "manifest_json").stdout)


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
