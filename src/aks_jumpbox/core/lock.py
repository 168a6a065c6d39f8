"""The lock (jumpbox.lock.json): exact version, URL and SHA-256 of every artifact.

`aks-jumpbox lock` writes it (the only command that needs the internet); everything else reads
it. Where a digest could not be confirmed, the entry says so (sha256 null) and the rendered
script verifies against the upstream checksum file fetched over HTTPS at build time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aks_jumpbox.adapters.files import SPEC_LIMIT, load_json, read_input
from aks_jumpbox.core.catalog import ARCHES, EXACT_VERSION, Catalog, url_basename
from aks_jumpbox.core.checksums import HEX64
from aks_jumpbox.core.errors import Problem, SpecError
from aks_jumpbox.core.urls import check_url

LOCK_SCHEMA = "aks-jumpbox/lock/v1"
DEFAULT_LOCK_NAME = "jumpbox.lock.json"


@dataclass(frozen=True)
class LockedArtifact:
    url: str
    sha256: str | None
    checksum_url: str
    source: str  # where the digest came from: "checksum-file", "recorded", or why it is missing
    # Why this entry may differ from the catalog's URLs (the user's explicit, per-entry opt-in).
    override: str | None = None
    # The mirror base when the entry names the mirror's copy (<base>/<tool>/<version>/<arch>/<file>)
    # instead of the upstream URL; the plan requires it to be the spec's mirror.artifacts.
    mirror_base: str | None = None

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    def to_json(self) -> dict[str, Any]:
        out = {"url": self.url, "sha256": self.sha256, "checksumUrl": self.checksum_url, "source": self.source}
        if self.override:
            out["override"] = self.override
        return out


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


_REGENERATE = "regenerate it with `aks-jumpbox lock`"
_ARTIFACT_KEYS = {"url", "sha256", "checksumUrl", "source", "override"}
_MAX_NOTE = 1000  # source is a note for people, shown in warnings
_OVERRIDE = re.compile(r"[A-Za-z0-9 .,:;()/#'_+=@-]{1,200}")


def _note(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string ({what})")
    if len(value) > _MAX_NOTE or any(not ch.isprintable() for ch in value):
        raise ValueError(f"must be one line of at most {_MAX_NOTE} printable characters ({what})")
    return value


def _mirror_base(url: str, name: str, version: str, arch: str, upstream: str) -> str | None:
    """The base of url when it is the mirror layout's copy of upstream, else None."""
    suffix = f"/{name}/{version}/{arch}/{url_basename(upstream)}"
    return url[: -len(suffix)] if url.endswith(suffix) and len(url) > len(suffix) else None


def _verify_source(name: str, version: str, arch: str, url: str, checksum_url: str,
                   catalog: Catalog) -> tuple[str | None, str | None, str | None]:
    """(problem field, problem, mirror base): the entry's URLs against what the catalog derives."""
    tool = catalog.tool(name)
    want_url, want_sum = tool.artifact_url(version, arch), tool.checksum_file_url(version, arch)
    if url == want_url and checksum_url == want_sum:
        return None, None, None
    base = _mirror_base(url, name, version, arch, want_url)
    if base is not None and _mirror_base(checksum_url, name, version, arch, want_sum) == base:
        return None, None, base
    fix = (f"{_REGENERATE}, or, to fetch it from elsewhere on purpose, add \"override\": \"<why>\" to this entry "
           "(the plan then warns and the egress allow-list says so)")
    if url != want_url and _mirror_base(url, name, version, arch, want_url) is None:
        return "url", (f"is {url}, not the catalog's URL of {name} {version} ({arch}), {want_url}, or its "
                       f"mirror copy (<mirror>/{name}/{version}/{arch}/{url_basename(want_url)}); {fix}"), None
    return "checksumUrl", (f"is {checksum_url}, not the catalog's checksum file of {name} {version} ({arch}), "
                           f"{want_sum}, or its copy in the same mirror as url; {fix}"), None


def _artifact(raw: Any, name: str, version: str, arch: str, catalog: Catalog) -> LockedArtifact:
    """One artifacts.<arch> entry, verified; ValueError(field, message) names what is wrong."""
    if not isinstance(raw, dict):
        raise _Bad("", "must be a mapping with url, sha256, checksumUrl and source")
    unknown = sorted(str(k) for k in raw if k not in _ARTIFACT_KEYS)
    if unknown:
        raise _Bad(unknown[0], f"is not a lock field (allowed: {', '.join(sorted(_ARTIFACT_KEYS))})")
    for key in ("url", "checksumUrl"):
        if key not in raw:
            raise _Bad(key, f"is missing; {_REGENERATE}")
    sha = raw.get("sha256")
    if sha is not None and not (isinstance(sha, str) and HEX64.fullmatch(sha)):
        raise _Bad("sha256", "must be 64 lowercase hex digits or null")
    urls = {}
    for key in ("url", "checksumUrl"):
        try:
            urls[key] = check_url(raw[key])
            url_basename(urls[key])
        except ValueError as exc:
            raise _Bad(key, str(exc)) from None
    try:
        source = _note(raw.get("source", ""), "where the digest came from")
    except ValueError as exc:
        raise _Bad("source", str(exc)) from None
    override = raw.get("override")
    # The reason is shown in warnings, the egress allow-list and its markdown table: plain words only.
    plain = isinstance(override, str) and _OVERRIDE.fullmatch(override) and override.strip()
    if override is not None and not plain:
        raise _Bad("override", "must say in plain words (letters, digits, spaces and .,:;()/#'_+=@-, at most 200) "
                               "why this entry differs from the catalog")
    where, problem, base = _verify_source(name, version, arch, urls["url"], urls["checksumUrl"], catalog)
    if problem and override is None:
        raise _Bad(where or "url", problem)
    return LockedArtifact(url=urls["url"], sha256=sha, checksum_url=urls["checksumUrl"], source=source,
                          override=override, mirror_base=base if override is None else None)


class _Bad(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _tool_entry(raw: Any, name: str, catalog: Catalog, where: str, bad: Any) -> LockedTool | None:
    if not isinstance(raw, dict):
        bad(where, f"must be a mapping with version and artifacts; {_REGENERATE}")
        return None
    version = raw.get("version")
    if not isinstance(version, str) or not EXACT_VERSION.fullmatch(version):
        bad(f"{where}.version", f"must be an exact version string such as \"1.2.3\" (got {version!r}); {_REGENERATE}")
        return None
    arts_raw = raw.get("artifacts")
    if not isinstance(arts_raw, dict) or not arts_raw:
        bad(f"{where}.artifacts",
            f"must be a mapping of architecture ({', '.join(ARCHES)}) to artifact; {_REGENERATE}")
        return None
    unknown = sorted(str(k) for k in raw if k not in ("version", "artifacts"))
    if unknown:
        bad(f"{where}.{unknown[0]}", "is not a lock field (allowed: version, artifacts)")
    tool = catalog.tool(name)
    arts: dict[str, LockedArtifact] = {}
    for arch, a in arts_raw.items():
        at = f"{where}.artifacts.{arch}"
        if arch not in ARCHES:
            bad(at, f"unknown architecture; use one of {', '.join(ARCHES)}")
            continue
        if not tool.supports(arch):
            bad(at, f"{name} is not published for {arch} in the catalog; remove this entry")
            continue
        try:
            arts[arch] = _artifact(a, name, version, arch, catalog)
        except _Bad as exc:
            bad(f"{at}.{exc.field}" if exc.field else at, exc.message)
    return LockedTool(version=version, artifacts=arts)


def parse_lock(doc: Any, label: str, catalog: Catalog) -> Lock:
    """The lock document, every entry verified against the catalog (see _verify_source).

    Each entry's url and checksumUrl must be exactly what the catalog derives for that tool,
    version and architecture, or their copies under one mirror base, unless the entry says why not
    ("override"). Every problem is reported, each located at its field.
    """
    problems: list[Problem] = []

    def bad(where: str, message: str) -> None:
        problems.append(Problem(label, None, where, message))

    if not isinstance(doc, dict) or doc.get("schema") != LOCK_SCHEMA:
        raise SpecError([Problem(label, None, "schema", f"is not an {LOCK_SCHEMA} lock; {_REGENERATE}")])
    tools_doc = doc.get("tools")
    if tools_doc is None:
        tools_doc = {}
    if not isinstance(tools_doc, dict):
        raise SpecError([Problem(label, None, "tools",
                                 f"must be a mapping of tool name to a list of locked versions; {_REGENERATE}")])
    tools: dict[str, dict[str, LockedTool]] = {}
    for name, entries in tools_doc.items():
        if name not in catalog.tools:
            bad(f"tools.{name}", "is not a tool in the catalog; remove it or run `aks-jumpbox lock`")
            continue
        if not isinstance(entries, list):
            bad(f"tools.{name}", f"must be a list of locked versions; {_REGENERATE}")
            continue
        for i, raw in enumerate(entries):
            where = f"tools.{name}[{i}]"
            entry = _tool_entry(raw, name, catalog, where, bad)
            if entry is None:
                continue
            if entry.version in tools.get(name, {}):
                bad(f"{where}.version", f"{entry.version} is locked twice; keep one entry per version")
                continue
            tools.setdefault(name, {})[entry.version] = entry
    cli = doc.get("azureCli")
    cli = {} if cli is None else cli
    versions = cli.get("versions", []) if isinstance(cli, dict) else None
    if not isinstance(versions, list) or not all(isinstance(v, str) and EXACT_VERSION.fullmatch(v) for v in versions):
        bad("azureCli.versions", f"must be a list of exact version strings such as \"2.90.0\"; {_REGENERATE}")
        versions = []
    if problems:
        raise SpecError(problems)
    return Lock(tools=tools, azure_cli_versions=tuple(versions))


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
