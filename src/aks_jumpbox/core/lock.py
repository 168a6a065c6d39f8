"""The lock (jumpbox.lock.json): exact version, URL and SHA-256 of every artifact.

`aks-jumpbox lock` writes it (the only command that needs the internet); everything else reads
it. Where a digest could not be confirmed, the entry says so (sha256 null) and the rendered
script verifies against the upstream checksum file fetched over HTTPS at build time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aks_jumpbox.adapters.files import SPEC_LIMIT, load_json, read_input
from aks_jumpbox.core.catalog import ARCHES, Catalog
from aks_jumpbox.core.checksums import HEX64
from aks_jumpbox.core.errors import Problem, SpecError

LOCK_SCHEMA = "aks-jumpbox/lock/v1"
DEFAULT_LOCK_NAME = "jumpbox.lock.json"


@dataclass(frozen=True)
class LockedArtifact:
    url: str
    sha256: str | None
    checksum_url: str
    source: str  # where the digest came from: "checksum-file", "recorded", or why it is missing

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "sha256": self.sha256, "checksumUrl": self.checksum_url, "source": self.source}


@dataclass(frozen=True)
class LockedTool:
    version: str
    artifacts: dict[str, LockedArtifact]

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "artifacts": {a: self.artifacts[a].to_json() for a in sorted(self.artifacts)}}


@dataclass(frozen=True)
class Lock:
    tools: dict[str, dict[str, LockedTool]] = field(default_factory=dict)  # name -> version -> entry
    azure_cli_versions: tuple[str, ...] = ()

    def get(self, tool: str, version: str) -> LockedTool | None:
        return self.tools.get(tool, {}).get(version)

    def with_tool(self, name: str, entry: LockedTool) -> Lock:
        tools = {k: dict(v) for k, v in self.tools.items()}
        tools.setdefault(name, {})[entry.version] = entry
        return Lock(tools=tools, azure_cli_versions=self.azure_cli_versions)

    def with_azure_cli(self, version: str) -> Lock:
        versions = tuple(sorted(set(self.azure_cli_versions) | {version}, key=_version_key))
        return Lock(tools=self.tools, azure_cli_versions=versions)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": LOCK_SCHEMA,
            "tools": {
                name: [self.tools[name][v].to_json() for v in sorted(self.tools[name], key=_version_key)]
                for name in sorted(self.tools)
            },
            "azureCli": {"versions": list(self.azure_cli_versions)},
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def parse_lock(doc: Any, label: str, catalog: Catalog) -> Lock:
    problems: list[Problem] = []

    def bad(where: str, message: str) -> None:
        problems.append(Problem(label, None, where, message))

    if not isinstance(doc, dict) or doc.get("schema") != LOCK_SCHEMA:
        raise SpecError([Problem(label, None, "schema", f"is not an {LOCK_SCHEMA} lock; regenerate it with `aks-jumpbox lock`")])
    tools: dict[str, dict[str, LockedTool]] = {}
    for name, entries in (doc.get("tools") or {}).items():
        if name not in catalog.tools:
            bad(f"tools.{name}", "is not a tool in the catalog; remove it or run `aks-jumpbox lock`")
            continue
        for i, raw in enumerate(entries if isinstance(entries, list) else []):
            where = f"tools.{name}[{i}]"
            try:
                arts = {}
                for arch, a in raw["artifacts"].items():
                    if arch not in ARCHES:
                        bad(f"{where}.artifacts.{arch}", f"unknown architecture; use one of {', '.join(ARCHES)}")
                        continue
                    sha = a.get("sha256")
                    if sha is not None and not HEX64.match(sha):
                        bad(f"{where}.artifacts.{arch}.sha256", "must be 64 lowercase hex digits or null")
                        continue
                    url = a["url"]
                    if not url.startswith("https://"):
                        bad(f"{where}.artifacts.{arch}.url", "must be an https:// URL")
                        continue
                    arts[arch] = LockedArtifact(url=url, sha256=sha, checksum_url=a["checksumUrl"], source=a.get("source", ""))
                tools.setdefault(name, {})[str(raw["version"])] = LockedTool(version=str(raw["version"]), artifacts=arts)
            except (KeyError, TypeError, AttributeError):
                bad(where, "is malformed (needs version and artifacts.{arch}.url/sha256/checksumUrl); regenerate with `aks-jumpbox lock`")
    if problems:
        raise SpecError(problems)
    cli = doc.get("azureCli") or {}
    return Lock(tools=tools, azure_cli_versions=tuple(str(v) for v in cli.get("versions", [])))


def default_lock_text() -> str:
    return resources.files("aks_jumpbox.data").joinpath(DEFAULT_LOCK_NAME).read_text(encoding="utf-8")


def load_lock(path: str | Path | None, catalog: Catalog) -> tuple[Lock, str]:
    if path is None:
        text, label = default_lock_text(), f"<embedded default {DEFAULT_LOCK_NAME}>"
    else:
        label = str(path)
        text = read_input(path, what="lock", limit=SPEC_LIMIT, missing_fix="Create it with `aks-jumpbox lock`.")
    doc = load_json(text, label, fix="Regenerate it with `aks-jumpbox lock`.")
    return parse_lock(doc, label, catalog), label
