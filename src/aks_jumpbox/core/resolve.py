"""Resolve a spec's pins into a lock, from upstream checksum files (or the mirror's copies).

Pure apart from `fetch_text`, which the caller passes in (the HTTPS adapter in the CLI).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from aks_jumpbox.adapters.imagecache import MAX_IMAGE_BYTES, DigestSink
from aks_jumpbox.core.baseimages import BaseImages, CloudImage, find_sha512, load_base_images
from aks_jumpbox.core.baseimages import mirror_path as base_image_mirror_path
from aks_jumpbox.core.catalog import ARCHES, Catalog, url_basename
from aks_jumpbox.core.checksums import ChecksumFileError, find_sha256
from aks_jumpbox.core.errors import OperationFailed, Unreachable
from aks_jumpbox.core.extensions import INDEX_URL, MIRROR_INDEX, ExtensionIndexError, choose, parse_index
from aks_jumpbox.core.lock import Lock, LockedArtifact, LockedBaseImage, LockedExtension, LockedTool
from aks_jumpbox.core.mirror import mirror_url
from aks_jumpbox.core.releases import via_feed
from aks_jumpbox.core.spec import Spec

FetchText = Callable[[str], str]
FetchFile = Callable[[str, BinaryIO], str]  # (url, file-like target) -> SHA-256 of what was written


class DigestRefused(OperationFailed):
    """A publisher's digest that contradicts the lock or the download: never softened into a note."""


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


def _resolve_base_image(
    image: CloudImage,
    release: str,
    arch: str,
    mirror: str | None,
    fetch_text: FetchText,
    fetch_file: FetchFile | None,
    previous: LockedBaseImage | None,
) -> LockedBaseImage:
    """One base image for one architecture at release, from the publisher's checksum file (or the mirror's
    copy). A SHA-512-only publisher (Debian): the image is downloaded once (streamed, never stored) to compute
    the SHA-256 the cache and the mirror verify, and its SHA-512 must match the checksum file's; a re-lock
    of the same URL and SHA-512 keeps the SHA-256 without downloading again."""
    url, sums = image.image_url(release, arch), image.checksum_url(release)
    source_sums = f"{mirror.rstrip('/')}/{base_image_mirror_path(image.key, release, arch, sums)}" if mirror else sums
    text = fetch_text(source_sums)
    name, what = url_basename(url), f"base image {image.key} {release} ({arch})"
    same = previous is not None and previous.url == url
    sha512, source = None, f"checksum-file {_one_line(source_sums)}"
    if image.checksum.format == "sha256sum":
        sha256 = find_sha256(text, "sha256sum", name)
    else:
        sha512 = find_sha512(text, name)
        if same and previous and previous.sha512 and previous.sha512 != sha512:
            raise DigestRefused(
                f"{what}: {source_sums} now lists SHA-512 {sha512}, but the lock has {previous.sha512} for the same "
                "URL; a published image changed or the source is compromised. Investigate before re-locking "
                "(delete the entry to accept the new digest)."
            )
        if same and previous and previous.sha512 == sha512 and previous.sha256:
            sha256, source = previous.sha256, previous.source
        else:
            if fetch_file is None:
                raise OperationFailed(f"{what}: its SHA-256 needs the image downloaded once; nothing can download here")
            source_url = (
                f"{mirror.rstrip('/')}/{base_image_mirror_path(image.key, release, arch, url)}" if mirror else url
            )
            sink = DigestSink(source_url, MAX_IMAGE_BYTES, algorithms=("sha512",))
            sha256 = fetch_file(source_url, sink.as_file())
            if sink.hexdigest("sha512") != sha512:
                raise DigestRefused(
                    f"{what}: the download from {source_url} has SHA-512 {sink.hexdigest('sha512')}, but "
                    f"{source_sums} lists {sha512}; refusing to lock it"
                )
            source += f"; sha256 computed from the image downloaded from {_one_line(source_url)} (its sha512 matched)"
    if same and previous and previous.sha256 and previous.sha256 != sha256:
        raise DigestRefused(
            f"{what}: {source_sums} now gives {sha256}, but the lock has {previous.sha256} for the same URL; "
            "a published image changed or the source is compromised. Investigate before re-locking "
            "(delete the entry to accept the new digest)."
        )
    return LockedBaseImage(release=release, url=url, sha256=sha256, checksum_url=sums, sha512=sha512, source=source)


def resolve_base_images(
    spec: Spec,
    previous: Lock,
    fetch_text: FetchText,
    fetch_file: FetchFile | None,
    *,
    upgrade: bool = False,
    images: BaseImages | None = None,
) -> tuple[dict[str, LockedBaseImage], list[str]]:
    """The spec's base image for every architecture its publisher has: the release already locked (unless
    upgrading), else the newest in the publisher's folder listing (a mirror has no listing: it serves the
    locked release). Only `try` needs it, so an unreachable publisher or mirror is a note, not a failure:
    the locked entry is kept as it was. A digest that changed for the same URL is refused, as for tools."""
    image = (images or load_base_images()).image(spec.base_image)
    if image is None:
        return {}, [f"base image {spec.base_image}: no cloud image is known for it; `try` cannot boot it"]
    mirror = spec.mirror.artifacts
    old = previous.base_images.get(image.key, {})
    locked = old.get(spec.architecture) or next(iter(old.values()), None)
    release = locked.release if locked and (mirror or not upgrade) else None
    if release is None and mirror:
        return {}, [
            f"base image {image.key}: no release is locked, and the mirror has no listing to pick one from; run "
            f"`aks-jumpbox lock` once where {image.index} is reachable (or copy the embedded lock's baseImages entry)"
        ]
    if release is None:
        try:
            releases = image.releases_in(fetch_text(image.index))
        except OperationFailed as exc:
            return dict(old), [f"base image {image.key}: {_one_line(str(exc))}; kept what the lock had"]
        if not releases:
            return dict(old), [f"base image {image.key}: {image.index} lists no release folder; kept what the lock had"]
        release = releases[-1]
    out: dict[str, LockedBaseImage] = {}
    notes: list[str] = []
    for arch in (a for a in ARCHES if image.supports(a)):
        prev = old.get(arch)
        try:
            entry = _resolve_base_image(image, release, arch, mirror, fetch_text, fetch_file, prev)
        except DigestRefused:
            raise
        except (OperationFailed, ChecksumFileError) as exc:
            why = _one_line(str(exc))
            if prev is not None and prev.release == release:
                out[arch] = prev
                notes.append(
                    f"base image {image.key} {release} {arch}: not re-confirmed ({why}); kept the locked entry"
                )
            else:
                url, sums = image.image_url(release, arch), image.checksum_url(release)
                out[arch] = LockedBaseImage(
                    release=release, url=url, sha256=None, checksum_url=sums, source=f"unconfirmed: {why}"
                )
                notes.append(f"base image {image.key} {release} {arch}: no digest ({why})")
            continue
        if prev is None or prev.sha256 != entry.sha256 or prev.release != release:
            notes.append(f"base image {image.key} {release} {arch}: sha256 {entry.sha256}")
        out[arch] = entry
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
    fetch_file: FetchFile | None = None,
    upgrade_base_images: bool = False,
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
    bases, base_notes = resolve_base_images(spec, previous, fetch_text, fetch_file, upgrade=upgrade_base_images)
    for arch, pin in bases.items():
        lock = lock.with_base_image(spec.base_image, arch, pin)
    return Resolution(lock=lock, changes=tuple(changes + notes + base_notes))
