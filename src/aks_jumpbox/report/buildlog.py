"""Read what a build installed from its log (customization.log, or provision.sh's own output).

provision.sh prints marker lines; Packer and Image Builder prefix every line with their own
timestamps and builder names, so markers are searched anywhere in a line, never anchored. Packer's
debug output ("PACKER ERR <date> … starting remote command: …") may quote a script's text, markers
included: those lines are not what the build printed and are skipped (core/buildlog.is_debug).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aks_jumpbox.core.buildlog import is_debug

# "==> aks-jumpbox package <name> <version> <arch>", one per installed dpkg package.
PACKAGE_RE = re.compile(r"==> aks-jumpbox package ([a-z0-9][a-z0-9+.-]*) ([A-Za-z0-9.+~:-]+) ([a-z0-9-]+)\s*$")
# "<name> <version> installed at <path> (sha256 <hex>)", logged after a tool's digest matched.
TOOL_RE = re.compile(r"\s(\S+) (\S+) installed at (/\S+) \(sha256 ([0-9a-f]{64})\)\s*$")
COMPLETE_RE = re.compile(r"==> aks-jumpbox provision complete \(([0-9a-f]{64})\)")
STEP_TIME_RE = re.compile(r"==> aks-jumpbox step \S+ (?:begin|end) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\s*$")


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    arch: str


@dataclass(frozen=True)
class InstalledTool:
    name: str
    version: str
    path: str
    sha256: str


@dataclass(frozen=True)
class BuildLog:
    packages: tuple[Package, ...]  # sorted by (name, arch)
    tools: tuple[InstalledTool, ...]  # sorted by name
    plan_hash: str | None  # from the completion line; None when the build did not finish
    finished_at: str | None  # the last step timestamp (UTC, ISO 8601)

    def package(self, name: str) -> Package | None:
        return next((p for p in self.packages if p.name == name), None)


def parse_packages(text: str) -> tuple[Package, ...]:
    """The dpkg packages a build log lists (the last listing wins for a name and architecture)."""
    found: dict[tuple[str, str], Package] = {}
    for line in text.splitlines():
        if is_debug(line):
            continue
        m = PACKAGE_RE.search(line)
        if m:
            found[(m.group(1), m.group(3))] = Package(m.group(1), m.group(2), m.group(3))
    return tuple(found[k] for k in sorted(found))


def parse_build_log(text: str) -> BuildLog:
    tools: dict[str, InstalledTool] = {}
    plan_hash = finished = None
    for line in text.splitlines():
        if is_debug(line):
            continue
        if m := TOOL_RE.search(line):
            tools[m.group(1)] = InstalledTool(*m.groups())
        elif m := COMPLETE_RE.search(line):
            plan_hash = m.group(1)
        elif m := STEP_TIME_RE.search(line):
            finished = m.group(1)
    return BuildLog(
        packages=parse_packages(text),
        tools=tuple(tools[k] for k in sorted(tools)),
        plan_hash=plan_hash,
        finished_at=finished,
    )
