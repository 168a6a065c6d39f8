"""Read upstream checksum files in the formats the catalog names."""

from __future__ import annotations

import json
import re

HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ChecksumFileError(ValueError):
    pass


def find_sha256(text: str, fmt: str, artifact: str, order: str | None = None) -> str:
    """The SHA-256 the checksum file lists for artifact (a file name).

    bare       the whole file is one hex digest
    sha256sum  lines of '<hex>  <name>' (or '<hex> *<name>')
    yq-multi   lines of '<name>  <hash> <hash> ...', columns named by the order file
    azext-index  Microsoft's Azure CLI extension index (JSON): the entry whose wheel is artifact
    Raises ChecksumFileError when the artifact is missing or listed more than once.
    """
    if fmt == "bare":
        token = text.strip().split()[0].lower() if text.strip() else ""
        if not HEX64.match(token):
            raise ChecksumFileError("checksum file does not hold a SHA-256 digest")
        return token
    if fmt == "sha256sum":
        found = []
        for line in text.splitlines():
            parts = line.strip().split()
            if len(parts) == 2 and parts[1].lstrip("*") == artifact and HEX64.match(parts[0].lower()):
                found.append(parts[0].lower())
        return _one(found, artifact)
    if fmt == "yq-multi":
        if order is None:
            raise ChecksumFileError("yq-multi checksums need the hashes-order file")
        names = [n.strip() for n in order.splitlines() if n.strip()]
        try:
            column = names.index("SHA-256") + 1
        except ValueError:
            raise ChecksumFileError("hashes-order file names no SHA-256 column") from None
        found = []
        for line in text.splitlines():
            parts = line.split()
            if parts and parts[0] == artifact and len(parts) > column and HEX64.match(parts[column].lower()):
                found.append(parts[column].lower())
        return _one(found, artifact)
    if fmt == "azext-index":
        return _one(_index_digests(text, artifact), artifact)
    raise ChecksumFileError(f"unknown checksum format {fmt!r}")


def _index_digests(text: str, wheel: str) -> list[str]:
    try:
        doc = json.loads(text)
    except ValueError:
        raise ChecksumFileError("the extension index is not JSON") from None
    extensions = doc.get("extensions") if isinstance(doc, dict) else None
    if not isinstance(extensions, dict):
        raise ChecksumFileError('the extension index has no "extensions" mapping')
    found = []
    for entries in extensions.values():
        for e in entries if isinstance(entries, list) else ():
            url, digest = (e.get("downloadUrl"), e.get("sha256Digest")) if isinstance(e, dict) else (None, None)
            if (
                isinstance(url, str)
                and url.rsplit("/", 1)[-1] == wheel
                and isinstance(digest, str)
                and HEX64.match(digest.lower())
            ):
                found.append(digest.lower())
    return found


def _one(found: list[str], artifact: str) -> str:
    if not found:
        raise ChecksumFileError(f"checksum file does not list {artifact}")
    if len(set(found)) > 1:
        raise ChecksumFileError(f"checksum file lists {artifact} more than once with different digests")
    return found[0]
