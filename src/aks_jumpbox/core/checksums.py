"""Read upstream checksum files in the formats the catalog names."""

from __future__ import annotations

import re

HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ChecksumFileError(ValueError):
    pass


def find_sha256(text: str, fmt: str, artifact: str, order: str | None = None) -> str:
    """The SHA-256 the checksum file lists for artifact (a file name).

    bare       the whole file is one hex digest
    sha256sum  lines of '<hex>  <name>' (or '<hex> *<name>')
    yq-multi   lines of '<name>  <hash> <hash> ...', columns named by the order file
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
    raise ChecksumFileError(f"unknown checksum format {fmt!r}")


def _one(found: list[str], artifact: str) -> str:
    if not found:
        raise ChecksumFileError(f"checksum file does not list {artifact}")
    if len(set(found)) > 1:
        raise ChecksumFileError(f"checksum file lists {artifact} more than once with different digests")
    return found[0]
