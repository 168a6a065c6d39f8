"""`mirror sync`: copy every locked artifact (and its checksum file) into the mirror layout,
verifying each digest on the way. Sources: upstream over HTTPS, another mirror (URL), or a folder
the artifacts were copied into by other means. Pure apart from the fetch functions passed in.

Nothing reaches the mirror unverified or outside it: every path is checked to stay inside --to
(whatever a lock URL decoded to), every source inside --from (no link leading out), the artifact is
written to an exclusive temporary file and renamed into place only once its digest matches, and
its checksum files are published only after that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aks_jumpbox.adapters.files import (
    CHECKSUM_LIMIT,
    AtomicFile,
    confined,
    open_existing,
    open_regular,
    read_input,
    safe_parts,
    write_all,
    write_atomic,
)
from aks_jumpbox.core.catalog import url_basename
from aks_jumpbox.core.checksums import ChecksumFileError, find_sha256
from aks_jumpbox.core.errors import OperationFailed
from aks_jumpbox.core.extensions import INDEX_LIMIT
from aks_jumpbox.core.mirror import INDEX_NAME, MirrorItem

FetchText = Callable[[str], str]
FetchFile = Callable[[str, BinaryIO], str]  # (url, open file) -> sha256 of what was written to it


@dataclass(frozen=True)
class Source:
    """Where sync reads from: upstream URLs (base None), another mirror's URL, or a local folder."""

    base: str | None = None
    folder: Path | None = None

    def locate(self, upstream_url: str, path: str) -> str | Path:
        if self.folder is not None:
            return confined(self.folder, path)  # resolved; a link out of the folder is refused
        return f"{self.base.rstrip('/')}/{'/'.join(safe_parts(path))}" if self.base else upstream_url


@dataclass(frozen=True)
class Synced:
    item: MirrorItem
    sha256: str
    action: str  # "fetched", "copied", "up to date"


def check_items(items: Iterable[MirrorItem], out: Path) -> None:
    """Refuse (UserError) any item whose mirror paths would leave `out`: run before anything is written."""
    for item in items:
        for rel in (item.path, item.checksum_path, item.order_path):
            if rel is not None:
                safe_parts(rel, base=out)


def check_sources(items: Iterable[MirrorItem], source: Source) -> None:
    """Refuse (UserError) a --from folder file that leads out of the folder or is not a regular file (a FIFO,
    a device, a folder): run before anything is written, so a bad source folder leaves --to untouched.
    Missing files are left to `sync_item` (an artifact already in place needs no source)."""
    if source.folder is None:
        return
    for item in items:
        for what, rel in (
            (f"{item.tool} artifact", item.path),
            ("checksum file", item.checksum_path),
            ("checksum order file", item.order_path),
        ):
            if rel is None:
                continue
            where = source.locate("", rel)
            if isinstance(where, Path) and where.exists():  # a folder source locates Paths
                open_regular(where, what=what, label=str(source.folder.joinpath(*safe_parts(rel)))).close()


def missing_sources(items: Iterable[MirrorItem], source: Source, out: Path) -> list[str]:
    """Every file a --from folder lacks that this sync needs, in mirror-layout paths, so all are reported at
    once (not one per run). An artifact already in place in --to with the lock's digest needs no source."""
    if source.folder is None:
        return []
    missing: list[str] = []
    for item in items:
        needed = [item.checksum_path, item.order_path]
        if not (item.sha256 and _in_place(out, item.path, item.sha256)):
            needed.append(item.path)
        for rel in needed:
            if rel is None or rel in missing:
                continue
            where = source.locate("", rel)
            if isinstance(where, Path) and not where.exists():
                missing.append(rel)
    return missing


def _sha256(fh: BinaryIO, copy_to: BinaryIO | None = None) -> str:
    digest = hashlib.sha256()
    while chunk := fh.read(1 << 20):
        digest.update(chunk)
        if copy_to is not None:
            copy_to.write(chunk)
    return digest.hexdigest()


def _read_text(where: str | Path, fetch_text: FetchText, limit: int = CHECKSUM_LIMIT) -> str:
    if isinstance(where, Path):
        if not where.exists():
            raise OperationFailed(f"{where} is missing from the source folder")
        return read_input(where, what="checksum file", limit=limit)
    return fetch_text(where)


def _expected(item: MirrorItem, source: Source, fetch_text: FetchText) -> tuple[str, dict[str, str]]:
    """The digest to hold the artifact to, and the checksum (and order) files to publish beside it."""
    limit = INDEX_LIMIT if item.checksum_format == "azext-index" else CHECKSUM_LIMIT  # Microsoft's whole index
    text = _read_text(source.locate(item.checksum_upstream_url, item.checksum_path), fetch_text, limit)
    sums = {item.checksum_path: text}
    order = None
    if item.order_upstream_url and item.order_path:
        order = _read_text(source.locate(item.order_upstream_url, item.order_path), fetch_text)
        sums[item.order_path] = order
    if item.checksum_format == "sha512sum" and item.sha256:
        return item.sha256, sums  # a base image listed by SHA-512 only: `lock` matched both digests already
    try:
        listed = find_sha256(text, item.checksum_format, url_basename(item.upstream_url), order)
    except ChecksumFileError as exc:
        if item.sha256:
            return item.sha256, sums  # the lock pins it; a checksum file that omits it changes nothing
        raise OperationFailed(f"{item.tool} {item.version} ({item.arch}): {exc}") from None
    if item.sha256 and listed != item.sha256:
        raise OperationFailed(
            f"{item.tool} {item.version} ({item.arch}): the checksum file lists {listed}, the lock pins "
            f"{item.sha256}; investigate before mirroring"
        )
    return listed, sums


def _in_place(out: Path, rel: str, expected: str) -> bool:
    fh = open_existing(out, rel)  # None for a link or anything but a regular file: never read through one
    if fh is None:
        return False
    with fh:
        return _sha256(fh) == expected


def sync_item(item: MirrorItem, source: Source, out: Path, fetch_text: FetchText, fetch_file: FetchFile) -> Synced:
    check_items([item], out)
    expected, sums = _expected(item, source, fetch_text)
    if _in_place(out, item.path, expected):
        write_all(out, sums)
        return Synced(item, expected, "up to date")
    where = source.locate(item.upstream_url, item.path)
    if isinstance(where, Path) and not where.exists():
        raise OperationFailed(f"{item.tool}: {where} is missing from the source folder")
    # Opened first, so a source that is not a regular file is refused before anything is created in --to.
    src = open_regular(where, what=f"{item.tool} artifact") if isinstance(where, Path) else where  # else a URL
    with AtomicFile(out, item.path) as dest:  # an exclusive temporary file, renamed only when this block succeeds
        if isinstance(src, str):
            actual, action = fetch_file(src, dest.file), "fetched"
        else:
            with src:
                actual, action = _sha256(src, copy_to=dest.file), "copied"
        if actual != expected:
            raise OperationFailed(
                f"{item.tool} {item.version} ({item.arch}): SHA-256 mismatch for {where}: expected {expected}, "
                f"got {actual}; not written to the mirror"
            )
    write_all(out, sums)
    return Synced(item, expected, action)


def write_index(out: Path, synced: list[Synced]) -> Path:
    """A listing of what the mirror holds, with digests, for review and for `mirror sync --from`."""
    doc = {
        "schema": "aks-jumpbox/mirror/v1",
        "artifacts": [
            {
                "tool": s.item.tool,
                "version": s.item.version,
                "arch": s.item.arch,
                "path": s.item.path,
                "sha256": s.sha256,
                "upstreamUrl": s.item.upstream_url,
                "checksumPath": s.item.checksum_path,
            }
            for s in sorted(synced, key=lambda s: s.item.path)
        ],
    }
    return write_atomic(out, INDEX_NAME, json.dumps(doc, indent=2) + "\n")
