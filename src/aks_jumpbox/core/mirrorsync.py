"""`mirror sync`: copy every locked artifact (and its checksum file) into the mirror layout,
verifying each digest on the way. Sources: upstream over HTTPS, another mirror (URL), or a folder
the artifacts were copied into by other means. Pure apart from the fetch functions passed in.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aks_jumpbox.core.catalog import url_basename
from aks_jumpbox.core.checksums import ChecksumFileError, find_sha256
from aks_jumpbox.core.errors import OperationFailed
from aks_jumpbox.core.mirror import INDEX_NAME, MirrorItem

FetchText = Callable[[str], str]
FetchFile = Callable[[str, Path], str]  # (url, dest) -> sha256 of what was written


@dataclass(frozen=True)
class Source:
    """Where sync reads from: upstream URLs (base None), another mirror's URL, or a local folder."""

    base: str | None = None
    folder: Path | None = None

    def locate(self, upstream_url: str, path: str) -> str | Path:
        if self.folder is not None:
            return self.folder / path
        return f"{self.base.rstrip('/')}/{path}" if self.base else upstream_url


@dataclass(frozen=True)
class Synced:
    item: MirrorItem
    sha256: str
    action: str  # "fetched", "copied", "up to date"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _read_text(where: str | Path, fetch_text: FetchText) -> str:
    if isinstance(where, Path):
        try:
            return where.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise OperationFailed(f"{where} is missing from the source folder") from None
    return fetch_text(where)


def _put_text(out: Path, path: str, text: str) -> None:
    dest = out / path
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(dest)


def _expected(item: MirrorItem, source: Source, out: Path, fetch_text: FetchText) -> str:
    """The digest to hold the artifact to; also copies the checksum (and order) file into the mirror."""
    text = _read_text(source.locate(item.checksum_upstream_url, item.checksum_path), fetch_text)
    _put_text(out, item.checksum_path, text)
    order = None
    if item.order_upstream_url and item.order_path:
        order = _read_text(source.locate(item.order_upstream_url, item.order_path), fetch_text)
        _put_text(out, item.order_path, order)
    try:
        listed = find_sha256(text, item.checksum_format, url_basename(item.upstream_url), order)
    except ChecksumFileError as exc:
        if item.sha256:
            return item.sha256  # the lock pins it; a checksum file that omits it changes nothing
        raise OperationFailed(f"{item.tool} {item.version} ({item.arch}): {exc}") from None
    if item.sha256 and listed != item.sha256:
        raise OperationFailed(
            f"{item.tool} {item.version} ({item.arch}): the checksum file lists {listed}, the lock pins "
            f"{item.sha256}; investigate before mirroring"
        )
    return listed


def sync_item(item: MirrorItem, source: Source, out: Path, fetch_text: FetchText, fetch_file: FetchFile) -> Synced:
    expected = _expected(item, source, out, fetch_text)
    dest = out / item.path
    if dest.is_file() and sha256_file(dest) == expected:
        return Synced(item, expected, "up to date")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    where = source.locate(item.upstream_url, item.path)
    try:
        if isinstance(where, Path):
            if not where.is_file():
                raise OperationFailed(f"{item.tool}: {where} is missing from the source folder")
            shutil.copyfile(where, tmp)
            actual, action = sha256_file(tmp), "copied"
        else:
            actual, action = fetch_file(where, tmp), "fetched"
        if actual != expected:
            raise OperationFailed(
                f"{item.tool} {item.version} ({item.arch}): SHA-256 mismatch for {where}: expected {expected}, "
                f"got {actual}; not written to the mirror"
            )
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return Synced(item, expected, action)


def write_index(out: Path, synced: list[Synced]) -> Path:
    """A listing of what the mirror holds, with digests, for review and for `mirror sync --from`."""
    doc = {
        "schema": "aks-jumpbox/mirror/v1",
        "artifacts": [
            {"tool": s.item.tool, "version": s.item.version, "arch": s.item.arch, "path": s.item.path,
             "sha256": s.sha256, "upstreamUrl": s.item.upstream_url, "checksumPath": s.item.checksum_path}
            for s in sorted(synced, key=lambda s: s.item.path)
        ],
    }
    path = out / INDEX_NAME
    _put_text(out, INDEX_NAME, json.dumps(doc, indent=2) + "\n")
    return path
