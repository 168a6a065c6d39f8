"""Resolve a spec's pins into a lock, from upstream checksum files (or the mirror's copies).

Pure apart from `fetch_text`, which the caller passes in (the HTTPS adapter in the CLI).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aks_jumpbox.core.catalog import ARCHES, Catalog, url_basename
from aks_jumpbox.core.checksums import ChecksumFileError, find_sha256
from aks_jumpbox.core.errors import OperationFailed, Unreachable
from aks_jumpbox.core.extensions import INDEX_URL, MIRROR_INDEX, ExtensionIndexError, choose, parse_index
from aks_jumpbox.core.lock import Lock, LockedArtifact, LockedExtension, LockedTool
from aks_jumpbox.core.mirror import mirror_url
from aks_jumpbox.core.releases import via_feed
from aks_jumpbox.core.spec import Spec

FetchText = Callable[[str], str]


@dataclass(frozen=True)
class Resolution:
    lock: Lock
    changes: tuple[str, ...]  # human lines: what is new or different


def _one_line(text: str, limit: int = 900) -> str:
    """A server's words as the lock's `source` note allows them: one line of printable characters (the lock
    reader refuses anything else, so writing it raw would make a lock nothing can read)."""
    text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def resolve_tool(
    spec: Spec, catalog: Catalog, name: str, version: str, fetch_text: FetchText, previous: LockedTool | None
) -> tuple[LockedTool, list[str]]:
    tool = catalog.tool(name)
    artifacts: dict[str, LockedArtifact] = {}
    notes: list[str] = []
    for arch in ARCHES:
        if not tool.supports(arch):
            continue
        url = tool.artifact_url(version, arch)
        checksum_url = tool.checksum_file_url(version, arch)
        order_url = tool.checksum_order_file_url(version, arch)
        source_url, source_order = checksum_url, order_url
        if spec.mirror.artifacts:
            source_url = mirror_url(spec.mirror.artifacts, name, version, arch, checksum_url)
            source_order = mirror_url(spec.mirror.artifacts, name, version, arch, order_url) if order_url else None
        try:
            text = fetch_text(source_url)
            order = fetch_text(source_order) if source_order else None
            sha = find_sha256(text, tool.checksum_format, url_basename(url), order)
        except Unreachable:
            raise  # no network: not "no digest for this architecture"; the command says what to do
        except (OperationFailed, ChecksumFileError) as exc:
            if arch == spec.architecture:
                raise OperationFailed(f"{name} {version} ({arch}): {exc}") from None
            why = _one_line(str(exc))
            artifacts[arch] = LockedArtifact(
                url=url, sha256=None, checksum_url=checksum_url, source=f"unconfirmed: {why}"
            )
            notes.append(f"{name} {version} {arch}: no digest ({why})")
            continue
        old = previous.artifacts.get(arch) if previous else None
        if old and old.sha256 and old.url == url and old.sha256 != sha:
            raise OperationFailed(
                f"{name} {version} ({arch}): the checksum file {source_url} now lists {sha}, but the lock has "
                f"{old.sha256} for the same URL; an upstream artifact changed or the source is compromised. "
                "Investigate before re-locking (delete the entry to accept the new digest)."
            )
        if not old or old.sha256 != sha:
            notes.append(f"{name} {version} {arch}: sha256 {sha}")
        artifacts[arch] = LockedArtifact(
            url=url, sha256=sha, checksum_url=checksum_url, source=f"checksum-file {source_url}"
        )
    return LockedTool(version=version, artifacts=artifacts), notes


def resolve_extensions(
    spec: Spec, previous: Lock, fetch_index: FetchText, *, feed: str | None = None, upgrade: bool = False
) -> tuple[list[tuple[str, LockedExtension]], list[str]]:
    """Each extension's wheel, version and SHA-256 from Microsoft's extension index: its copy in the mirror
    (mirror.artifacts set: `mirror sync` publishes it there, as checksum files), under a release feed, or
    upstream. The version is the spec's; else the one already locked (unless upgrading); else the newest
    the index says fits the spec's Azure CLI."""
    if not spec.azure_cli.extensions:
        return [], []
    base = spec.mirror.artifacts
    index_url = f"{base.rstrip('/')}/{MIRROR_INDEX}" if base else via_feed(INDEX_URL, feed)
    try:
        index = parse_index(fetch_index(index_url))
    except ExtensionIndexError as exc:
        raise OperationFailed(f"{index_url}: {exc}") from None
    out: list[tuple[str, LockedExtension]] = []
    notes: list[str] = []
    cli = spec.azure_cli.version
    for ext in spec.azure_cli.extensions:
        version = ext.version
        if version is None and not upgrade:
            kept = previous.extension_versions(ext.name)
            version = kept[-1] if kept else None
        try:
            entry = choose(index, ext.name, version, cli)
        except ExtensionIndexError as exc:
            raise OperationFailed(f"Azure CLI extension {ext.name}: {exc} ({index_url})") from None
        old = previous.extensions.get(ext.name, {}).get(entry.version)
        if old and old.url == entry.url and old.sha256 != entry.sha256:
            raise OperationFailed(
                f"Azure CLI extension {ext.name} {entry.version}: the index {index_url} now lists {entry.sha256}, "
                f"but the lock has {old.sha256} for the same wheel; a published wheel changed or the source is "
                "compromised. Investigate before re-locking (delete the entry to accept the new digest)."
            )
        if not entry.fits(cli):
            notes.append(
                f"azure-cli extension {ext.name} {entry.version}: the index says it needs Azure CLI "
                f"{entry.min_cli or '(any)'} to {entry.max_cli or '(any)'}, the spec pins {cli}"
            )
        if not old or old.sha256 != entry.sha256:
            notes.append(f"azure-cli extension {ext.name} {entry.version}: sha256 {entry.sha256}")
        out.append(
            (
                ext.name,
                LockedExtension(
                    version=entry.version,
                    url=entry.url,
                    sha256=entry.sha256,
                    source=f"extension index {_one_line(index_url)} (sha256Digest)",
                ),
            )
        )
    return out, notes


def resolve_lock(
    spec: Spec,
    catalog: Catalog,
    previous: Lock,
    fetch_text: FetchText,
    *,
    fetch_index: FetchText | None = None,
    feed: str | None = None,
    upgrade_extensions: bool = False,
) -> Resolution:
    lock = Lock()
    changes: list[str] = []
    for name in sorted(spec.tools):
        version = spec.tools[name].version
        entry, notes = resolve_tool(spec, catalog, name, version, fetch_text, previous.get(name, version))
        lock = lock.with_tool(name, entry)
        changes += notes
    lock = lock.with_azure_cli(spec.azure_cli.version)
    extensions, notes = resolve_extensions(
        spec, previous, fetch_index or fetch_text, feed=feed, upgrade=upgrade_extensions
    )
    for name, ext in extensions:
        lock = lock.with_extension(name, ext)
    return Resolution(lock=lock, changes=tuple(changes + notes))
