"""The local cache of base cloud images, by digest: cache_dir/<sha256>.<format>.

A miss downloads the pinned image (from the mirror when one is given, else the publisher's URL) over
HTTPS (adapters/http.py: https only, redirects too), hashing while it streams into an exclusive temporary
file that is renamed into place only when the SHA-256 matches: a broken or tampered download leaves
nothing behind. A hit is re-verified cheaply: the size, inode and modification time recorded beside it
(<name>.verified) when its digest was last checked; anything else changed means a full re-hash, and a
file whose digest no longer matches is replaced by a fresh download.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from aks_jumpbox.adapters.files import AtomicFile, ensure_dir, open_existing, write_atomic
from aks_jumpbox.core.errors import OperationFailed, UserError

MAX_IMAGE_BYTES = 8 << 30  # cloud images are well under 1 GiB; a server streaming without end is stopped here
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FORMAT = re.compile(r"[a-z0-9]{1,10}")

FetchFile = Callable[[str, BinaryIO], str]  # (url, open file) -> SHA-256 of what was written


class ImagePin(Protocol):
    """What the cache needs of a pin (core/baseimages.py's BaseImagePin)."""

    @property
    def url(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def format(self) -> str: ...
    def mirror_url(self, mirror_base_url: str) -> str: ...


class TooLarge(OperationFailed):
    pass


class DigestSink:
    """A file-like target for fetch_file: counts (and bounds) the bytes, hashes them with extra algorithms
    (e.g. SHA-512 where a publisher lists only that), and passes them on to `out` when given. fetch_file
    starts over on a retry with seek(0) + truncate(), which resets the count and the digests."""

    def __init__(self, url: str, max_bytes: int, out: BinaryIO | None = None, algorithms: tuple[str, ...] = ()):
        self.url, self.max_bytes, self.out, self.algorithms = url, max_bytes, out, algorithms
        self.truncate()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.out.seek(offset, whence) if self.out is not None else offset

    def truncate(self, size: int | None = None) -> int:
        self.size = 0
        self.digests = {name: hashlib.new(name) for name in self.algorithms}
        if self.out is not None:
            self.out.seek(0)
            self.out.truncate()
        return 0

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise TooLarge(f"GET {self.url}: larger than {self.max_bytes} bytes; not a base image, refusing it")
        for digest in self.digests.values():
            digest.update(chunk)
        return self.out.write(chunk) if self.out is not None else len(chunk)

    def flush(self) -> None:
        if self.out is not None:
            self.out.flush()

    def hexdigest(self, algorithm: str) -> str:
        return self.digests[algorithm].hexdigest()

    def as_file(self) -> BinaryIO:
        return cast(BinaryIO, self)


def _default_fetch(url: str, out: BinaryIO) -> str:
    from aks_jumpbox.adapters.http import fetch_file

    return fetch_file(url, out)


def _stamp(st: os.stat_result) -> dict[str, int]:
    return {"size": st.st_size, "ino": st.st_ino, "mtime_ns": st.st_mtime_ns}


def _verified(cache_dir: Path, name: str, sha256: str) -> bool:
    """True when cache_dir/name is a regular file (never through a link) holding sha256; records the stamp."""
    fh = open_existing(cache_dir, name)
    if fh is None:
        return False
    with fh:
        stamp = _stamp(os.fstat(fh.fileno()))
        marker = open_existing(cache_dir, f"{name}.verified")
        if marker is not None:
            with marker:
                try:
                    if json.loads(marker.read(4096)) == {**stamp, "sha256": sha256}:
                        return True  # unchanged since its digest was last checked
                except ValueError:
                    pass
        digest = hashlib.sha256()
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
        good = digest.hexdigest() == sha256
    if good:
        write_atomic(cache_dir, f"{name}.verified", json.dumps({**stamp, "sha256": sha256}))
    return good


def ensure_base_image(
    pin: ImagePin,
    *,
    mirror_base_url: str | None,
    cache_dir: Path,
    max_bytes: int = MAX_IMAGE_BYTES,
    fetch: FetchFile | None = None,
) -> Path:
    """The path of the pinned image in cache_dir (<sha256>.<format>), downloaded and verified on a miss.

    Raises OperationFailed naming the URL, the expected and the actual SHA-256 when the download does not
    match the pin (nothing is cached then), and when it exceeds max_bytes."""
    if not _HEX64.fullmatch(pin.sha256) or not _FORMAT.fullmatch(pin.format):
        raise UserError(f"{pin.url}: the pin's sha256 {pin.sha256!r} or format {pin.format!r} is not usable.")
    name = f"{pin.sha256}.{pin.format}"
    ensure_dir(cache_dir)
    path = cache_dir / name
    if _verified(cache_dir, name, pin.sha256):
        return path
    url = pin.mirror_url(mirror_base_url) if mirror_base_url else pin.url
    with AtomicFile(cache_dir, name, mode=0o444) as dest:  # renamed into place only if this block succeeds
        sink = DigestSink(url, max_bytes, out=dest.file)
        try:
            actual = (fetch or _default_fetch)(url, sink.as_file())
        except (http.client.HTTPException, OSError) as exc:  # e.g. the connection broke off mid-body
            raise OperationFailed(f"GET {url} failed: {exc!r}; nothing was cached") from None
        if actual != pin.sha256:
            raise OperationFailed(
                f"{url}: SHA-256 mismatch: expected {pin.sha256} (the lock's pin), got {actual}; "
                "the download was discarded and nothing was cached"
            )
    st = path.lstat()
    write_atomic(cache_dir, f"{name}.verified", json.dumps({**_stamp(st), "sha256": pin.sha256}))
    return path
