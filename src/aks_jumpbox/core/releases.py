"""Newest upstream releases, read from the sources the catalog names (pure but for fetch_text).

Only plain MAJOR.MINOR.PATCH releases count: drafts, pre-releases (and anything with a suffix),
and releases that do not (or no longer) publish this tool's artifact for the architecture are
skipped, so `outdated` never proposes a version `lock` could not fetch.

Release feed mirror: organizations that cannot reach the upstream APIs from their build agents
can mirror the release metadata. With a feed URL, every upstream metadata URL
https://HOST/PATH is read from FEED/HOST/PATH instead (the query string dropped), e.g.
https://api.github.com/repos/helm/helm/releases -> FEED/api.github.com/repos/helm/helm/releases.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aks_jumpbox.adapters.files import InputError, load_json
from aks_jumpbox.core.catalog import Catalog, ReleaseSource, Tool, url_basename
from aks_jumpbox.core.errors import OperationFailed, Unreachable

GITHUB_API = "https://api.github.com"
# ASCII digits, a sane length, nothing after (`$` would take a trailing newline, `\d` any script's digits):
# a feed's tag becomes a pin in jumpbox.yaml and a path in a URL.
PLAIN = re.compile(r"[0-9]{1,9}\.[0-9]{1,9}\.[0-9]{1,9}")
AZURE_CLI = "azure-cli"

FetchText = Callable[[str], str]


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@dataclass(frozen=True)
class Newest:
    name: str
    version: str | None  # None: the source lists no usable release
    source_url: str  # the upstream metadata URL (what the feed mirrors)
    error: str | None = None
    unreachable: str | None = None  # the host that could not be reached at all (offline?), not a bad answer


def metadata_url(src: ReleaseSource) -> str:
    if src.source == "github":
        return f"{GITHUB_API}/repos/{src.repo}/releases?per_page=100"
    assert src.url, "hashicorp and stable-txt sources name their url"
    return src.url


def via_feed(url: str, feed: str | None) -> str:
    """Where to read url: upstream, or its copy under a release feed mirror (see module doc)."""
    if not feed:
        return url
    parts = urlsplit(url)
    return f"{feed.rstrip('/')}/{parts.hostname}{parts.path}"


def _tag_version(tag: str, template: str) -> str | None:
    prefix, _, suffix = template.partition("{version}")
    if not (tag.startswith(prefix) and tag.endswith(suffix)) or len(tag) <= len(prefix) + len(suffix):
        return None
    version = tag[len(prefix) : len(tag) - len(suffix)]
    return version if PLAIN.fullmatch(version) else None


def github_versions(text: str, tag_template: str, asset_for: Callable[[str], str | None] | None = None) -> list[str]:
    """Published, non-pre-release versions in a GitHub releases API answer.

    asset_for(version) names the asset the tool downloads from that release (None when the tool
    downloads from elsewhere); a release without it is skipped (its upload is not done, or the
    asset was withdrawn).
    """
    releases = load_json(text, "the GitHub releases answer")
    if not isinstance(releases, list):
        raise ValueError("not a list of releases")
    out = []
    for r in releases:
        if r.get("draft") or r.get("prerelease"):
            continue
        version = _tag_version(str(r.get("tag_name", "")), tag_template)
        if version is None:
            continue
        wanted = asset_for(version) if asset_for else None
        if wanted is not None and wanted not in {a.get("name") for a in r.get("assets") or ()}:
            continue
        out.append(version)
    return out


def hashicorp_versions(text: str, arch: str) -> list[str]:
    """Versions in a releases.hashicorp.com index.json with a linux build for arch."""
    doc = load_json(text, "the HashiCorp release index")
    out = []
    for key, entry in (doc.get("versions") or {}).items():
        version = str(entry.get("version", key))
        if not PLAIN.fullmatch(version):
            continue
        builds = entry.get("builds") or ()
        if any(b.get("os") == "linux" and b.get("arch") == arch for b in builds):
            out.append(version)
    return out


def stable_txt_versions(text: str) -> list[str]:
    token = text.strip().split()[0] if text.strip() else ""
    token = token[1:] if token.startswith("v") else token
    return [token] if PLAIN.fullmatch(token) else []


def _github_asset(tool: Tool, arch: str, repo: str) -> Callable[[str], str | None]:
    prefix = f"https://github.com/{repo}/releases/download/".lower()

    def asset(version: str) -> str | None:
        url = tool.artifact_url(version, arch)
        return url_basename(url) if url.lower().startswith(prefix) else None

    return asset


def newest_release(name: str, catalog: Catalog, arch: str, fetch_text: FetchText, feed: str | None = None) -> Newest:
    """The newest usable release of a catalog tool (or of the Azure CLI, name "azure-cli")."""
    tool = None if name == AZURE_CLI else catalog.tool(name)
    src = catalog.azure_cli.releases if tool is None else tool.releases
    if src is None:
        return Newest(name, None, "", "the catalog names no release source")
    url = metadata_url(src)
    try:
        text = fetch_text(via_feed(url, feed))
        if src.source == "github":
            versions = github_versions(
                text, src.tag or "v{version}", _github_asset(tool, arch, src.repo or "") if tool else None
            )
        elif src.source == "hashicorp":
            versions = hashicorp_versions(text, tool.arch_names[arch] if tool else arch)
        else:
            versions = stable_txt_versions(text)
    except Unreachable as exc:
        return Newest(name, None, url, f"{via_feed(url, feed)}: {exc}", unreachable=exc.host)
    except OperationFailed as exc:
        return Newest(name, None, url, str(exc))
    except (ValueError, AttributeError, TypeError, InputError) as exc:
        return Newest(name, None, url, f"{via_feed(url, feed)} is not a {src.source} release list ({exc})")
    return Newest(name, max(versions, key=version_key) if versions else None, url)
