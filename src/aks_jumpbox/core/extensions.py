"""Azure CLI extensions: their versions, Microsoft's extension index, and where a wheel lives in the mirror.

An extension is pinned in the lock like a tool (version, the wheel's URL, its SHA-256, where the digest
came from). `lock` reads the digest from Microsoft's extension index, the file `az extension add --name`
itself checks wheels against (`sha256Digest`); the build downloads the wheel, checks that digest and
installs from the file, so the index is not read at build time. Pure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aks_jumpbox.core.catalog import url_basename
from aks_jumpbox.core.checksums import HEX64
from aks_jumpbox.core.urls import UrlError, check_url

# `az extension add --name X` without extension.index_url reads the index at this link
# (azure-cli-core extension/_index.py DEFAULT_INDEX_URL), which redirects to the index's blob:
# https://learn.microsoft.com/cli/azure/azure-cli-endpoints#extensions
INDEX_URL = "https://aka.ms/azure-cli-extension-index-v1"
INDEX_LIMIT = 64 << 20  # the index lists every version of every extension: tens of MB, not a checksum file
# Extension versions are PEP 440 releases as the index spells them: 2.0.1, 19.0.0b10, 1.0.0rc1.
VERSION = re.compile(r"[0-9]{1,20}\.[0-9]{1,20}\.[0-9]{1,20}(?:(a|b|rc)[0-9]{1,20})?")
MIRROR_FOLDER = "azure-cli-extensions"
# Where `mirror sync` publishes Microsoft's index and `lock` reads it in mirror mode (like checksum files).
MIRROR_INDEX = f"{MIRROR_FOLDER}/index.json"
_STAGES = {"a": 0, "b": 1, "rc": 2, None: 3}  # a final release sorts after its pre-releases


class ExtensionIndexError(ValueError):
    """The index does not hold a usable entry for what was asked."""


def version_key(version: str) -> tuple[int, ...]:
    m = VERSION.fullmatch(version)
    if m is None:
        return (-1,)
    release = tuple(int(p) for p in re.split(r"[.a-z]+", version)[:3])
    tail = re.search(r"(a|b|rc)([0-9]+)$", version)
    return (*release, _STAGES[m.group(1)], int(tail.group(2)) if tail else 0)


def wheel_prefix(name: str, version: str) -> str:
    """How a wheel of NAME VERSION is named (PEP 427: the name's '-' become '_')."""
    return f"{name.replace('-', '_')}-{version}-"


def wheel_problem(name: str, version: str, url: str) -> str | None:
    """Why url cannot be the wheel of NAME VERSION, or None."""
    try:
        check_url(url, schemes=("https",))
        file = url_basename(url)
    except (UrlError, ValueError) as exc:
        return str(exc)
    if not (file.startswith(wheel_prefix(name, version)) and file.endswith(".whl")):
        return f"names {file}, not a wheel of {name} {version} ({wheel_prefix(name, version)}...whl)"
    return None


def mirror_path(name: str, version: str, url: str) -> str:
    """The wheel's path in the artifact mirror: azure-cli-extensions/<name>/<version>/<file>."""
    return f"{MIRROR_FOLDER}/{name}/{version}/{url_basename(url)}"


@dataclass(frozen=True)
class IndexEntry:
    name: str
    version: str
    url: str
    sha256: str
    min_cli: str | None
    max_cli: str | None

    def fits(self, cli_version: str) -> bool:
        cli = version_key(cli_version)
        return (self.min_cli is None or version_key(self.min_cli) <= cli) and (
            self.max_cli is None or cli <= version_key(self.max_cli)
        )


def _entry(name: str, raw: Any) -> IndexEntry | None:
    """One entry of the index, or None when it is not usable (malformed entries are skipped, not trusted)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("metadata"), dict):
        return None
    meta = raw["metadata"]
    version, url, digest = meta.get("version"), raw.get("downloadUrl"), raw.get("sha256Digest")
    if not (
        isinstance(version, str)
        and VERSION.fullmatch(version)
        and isinstance(url, str)
        and isinstance(digest, str)
        and HEX64.fullmatch(digest.lower())
    ):
        return None
    if wheel_problem(name, version, url) is not None:
        return None
    bounds = [meta.get(k) for k in ("azext.minCliCoreVersion", "azext.maxCliCoreVersion")]
    min_cli, max_cli = (b if isinstance(b, str) and re.fullmatch(r"[0-9]+(\.[0-9]+){0,2}", b) else None for b in bounds)
    return IndexEntry(name, version, url, digest.lower(), min_cli, max_cli)


def parse_index(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ExtensionIndexError(f"the extension index is not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("extensions"), dict):
        raise ExtensionIndexError('the extension index has no "extensions" mapping (formatVersion 1)')
    return doc["extensions"]


def choose(extensions: dict[str, Any], name: str, version: str | None, cli_version: str) -> IndexEntry:
    """The index entry to lock: the spec's version when it names one, else the newest that the index says
    fits the locked Azure CLI (azext.minCliCoreVersion / maxCliCoreVersion; no bound counts as fitting)."""
    raw = extensions.get(name)
    entries = [e for e in (_entry(name, r) for r in raw) if e] if isinstance(raw, list) else []
    if not entries:
        raise ExtensionIndexError(f"the extension index lists no usable version of {name}")
    if version is not None:
        found = [e for e in entries if e.version == version]
        if not found:
            newest = sorted({e.version for e in entries}, key=version_key)[-5:]
            raise ExtensionIndexError(f"the extension index has no {name} {version} (newest: {', '.join(newest)})")
        return found[-1]
    fitting = [e for e in entries if e.fits(cli_version)]
    if not fitting:
        raise ExtensionIndexError(
            f"no version of {name} in the extension index supports Azure CLI {cli_version}; "
            "pin one in jumpbox.yaml (azure_cli.extensions: [{name: ..., version: ...}])"
        )
    return max(fitting, key=lambda e: version_key(e.version))
