"""Stand-in tool artifacts laid out exactly like upstream's, per the toolset catalog.

Same archive type and member path as the real release (helm's tarball holds linux-amd64/helm,
kubelogin's zip bin/linux_amd64/kubelogin, ...), the checksum file in the upstream's own format
(bare hex, sha256sum lines listing every platform, yq's multi-hash table + column-order file).
The "binary" is a small shell script that answers the catalog's version command with output in
the real tool's format (the catalog's version.example, with the version substituted) and refuses
anything else, so a script that calls a tool in a way the harness does not know shows up.

Archive members carry a build machine's owner (uid 1001) and mode 0775, as release archives do:
the product must install root:root 0755 regardless.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shlex
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from aks_jumpbox.core.catalog import Tool, url_basename

MTIME = 1_750_000_000  # fixed, so the same inputs give the same bytes (and digests)
BUILD_UID, BUILD_GID = 1001, 127
# The column names of yq's `checksums` (rhash --list-hashes); SHA-256 is the 18th hash.
YQ_HASH_ORDER = (
    "CRC32",
    "CRC32C",
    "MD4",
    "MD5",
    "SHA1",
    "TIGER",
    "TTH",
    "BTIH",
    "ED2K",
    "AICH",
    "WHIRLPOOL",
    "RIPEMD-160",
    "GOST94",
    "GOST94-CRYPTOPRO",
    "HAS-160",
    "GOST12-256",
    "GOST12-512",
    "SHA-256",
    "SHA-224",
    "SHA-384",
    "SHA-512",
    "SHA3-224",
    "SHA3-256",
    "SHA3-384",
    "SHA3-512",
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def version_output(tool: Tool, version: str) -> str:
    """What the real tool prints for its version command, at `version` (from the catalog's example)."""
    example = tool.version.example
    shown = tool.version.parse(example)
    if shown is None:
        raise ValueError(f"catalog: {tool.name}'s version.example does not match its own regex")
    return example.replace(shown, version)


def stand_in_binary(tool_name: str, command: tuple[str, ...], output: str, pad: int = 0) -> bytes:
    """A POSIX sh script that prints `output` for exactly `command`'s arguments, else fails."""
    args = " ".join(command[1:])
    script = (
        "#!/bin/sh\n"
        f"# stand-in {tool_name} built by the aks-jumpbox rootfs harness\n"
        f'if [ "$*" = {shlex.quote(args)} ]; then\n'
        f"  printf '%s\\n' {shlex.quote(output)}\n"
        "  exit 0\n"
        "fi\n"
        f'echo "{tool_name} (stand-in): unsupported arguments: $*" >&2\n'
        "exit 2\n"
    ).encode()
    if pad:
        # sh stops at `exit` above and never reads the padding (incompressible, for real sizes)
        script += b"#" + os.urandom(pad)
    return script


def _tar_gz(members: list[tuple[str, bytes, int]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        dirs = sorted({str(Path(name).parent) for name, _, _ in members if "/" in name})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o775, MTIME
            info.uid, info.gid, info.uname, info.gname = BUILD_UID, BUILD_GID, "runner", "docker"
            tar.addfile(info)
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, MTIME
            info.uid, info.gid, info.uname, info.gname = BUILD_UID, BUILD_GID, "runner", "docker"
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)


def _zip(members: list[tuple[str, bytes, int]]) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name, date_time=(2025, 6, 15, 12, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3  # unix, so the mode is honoured
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return raw.getvalue()


@dataclass(frozen=True)
class StandIn:
    """One tool's artifact and checksum file(s), as the mirror serves them."""

    tool: str
    version: str
    arch: str
    upstream_url: str
    checksum_url: str
    member: str | None
    binary: bytes
    artifact: bytes
    files: dict[str, bytes]  # basename -> content, for the mirror folder {tool}/{version}/{arch}/

    @property
    def basename(self) -> str:
        return url_basename(self.upstream_url)

    @property
    def sha256(self) -> str:
        return sha256(self.artifact)

    def publish(self, artifacts_root: Path) -> Path:
        """Write the files under {artifacts_root}/{tool}/{version}/{arch}/; returns that folder."""
        folder = artifacts_root / self.tool / self.version / self.arch
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            (folder / name).write_bytes(data)
        return folder


def _package(tool: Tool, version: str, arch: str, binary: bytes) -> tuple[bytes, str | None]:
    member = tool.archive_member(version, arch)
    if tool.archive == "raw":
        return binary, None
    assert member is not None, f"catalog: {tool.name} is an archive without a member path"
    members = [(member, binary, 0o775)]
    # Upstream archives carry a licence (and often a README) next to the binary.
    folder = member.rsplit("/", 1)[0] + "/" if "/" in member else ""
    license_name = "LICENSE.txt" if tool.name == "terraform" else "LICENSE"
    members.append((folder + license_name, f"{tool.license} licence text (stand-in)\n".encode(), 0o644))
    if tool.archive == "tar.gz":
        return _tar_gz(members), member
    if tool.archive == "zip":
        return _zip(members), member
    raise ValueError(f"unknown archive type {tool.archive!r}")


def _siblings(basename: str, arch_name: str) -> list[str]:
    """Other platforms' asset names as a release's shared checksum file lists them."""
    out = []
    for other in ("arm64", "arm", "386", "s390x"):
        if other != arch_name and arch_name in basename:
            out.append(basename.replace(arch_name, other))
    for a, b in (("linux", "darwin"), ("Linux", "Darwin"), ("linux", "windows")):
        if a in basename:
            name = basename.replace(a, b)
            if b == "windows":
                name = name.replace(".tar.gz", ".zip") if name.endswith(".tar.gz") else name + ".exe"
            out.append(name)
    # a decoy whose name starts with the artifact's: a reader must match the whole name
    out.append(basename + (".sbom.json" if "." in basename else ".tar.gz"))
    return sorted(set(out) - {basename})


def _fake_digest(name: str, algo: str = "sha256") -> str:
    return hashlib.new(algo, f"other platform {name}".encode()).hexdigest()


def _yq_row(name: str, data: bytes | None) -> str:
    seed = data if data is not None else f"other platform {name}".encode()
    cols = []
    for col in YQ_HASH_ORDER:
        if col == "SHA-256":
            cols.append(hashlib.sha256(seed).hexdigest())
        elif col == "CRC32":
            cols.append(f"{zlib.crc32(seed):08x}")
        elif col == "MD5":
            cols.append(hashlib.md5(seed).hexdigest())
        elif col == "SHA1":
            cols.append(hashlib.sha1(seed).hexdigest())
        elif col.startswith(("SHA-", "SHA3-")):
            algo = {"SHA-224": "sha224", "SHA-384": "sha384", "SHA-512": "sha512"}.get(
                col, col.lower().replace("-", "_")
            )
            cols.append(hashlib.new(algo, seed).hexdigest())
        else:  # algorithms hashlib lacks: a filler of plausible length
            cols.append(hashlib.blake2b(col.encode() + seed, digest_size=16).hexdigest())
    return f"{name}  " + " ".join(cols)


def checksum_files(tool: Tool, version: str, arch: str, artifact: bytes) -> dict[str, bytes]:
    basename = url_basename(tool.artifact_url(version, arch))
    checksum_name = url_basename(tool.checksum_file_url(version, arch))
    digest = sha256(artifact)
    fmt = tool.checksum_format
    if fmt == "bare":  # dl.k8s.io: the hex digest alone, no newline
        return {checksum_name: digest.encode()}
    if fmt == "sha256sum":
        if basename in checksum_name:  # one file per artifact
            return {checksum_name: f"{digest}  {basename}\n".encode()}
        rows = [(basename, digest)] + [(n, _fake_digest(n)) for n in _siblings(basename, tool.arch_names[arch])]
        text = "".join(f"{d}  {n}\n" for n, d in sorted(rows))
        return {checksum_name: text.encode()}
    if fmt == "yq-multi":
        assert tool.checksum_order_url, "catalog: yq-multi needs checksum.order_url"
        order_name = url_basename(tool.checksum_order_file_url(version, arch))
        names = [basename] + _siblings(basename, tool.arch_names[arch])
        rows = [_yq_row(n, artifact if n == basename else None) for n in sorted(names)]
        return {
            checksum_name: ("\n".join(rows) + "\n").encode(),
            order_name: ("\n".join(YQ_HASH_ORDER) + "\n").encode(),
        }
    raise ValueError(f"unknown checksum format {fmt!r}")


def build_stand_in(
    tool: Tool, version: str, arch: str = "amd64", *, reported_version: str | None = None, pad: int = 0
) -> StandIn:
    """The stand-in release of tool at version; reported_version makes it lie about its version."""
    output = version_output(tool, reported_version or version)
    binary = stand_in_binary(tool.name, tool.version.command, output, pad=pad)
    artifact, member = _package(tool, version, arch, binary)
    files = {url_basename(tool.artifact_url(version, arch)): artifact}
    files.update(checksum_files(tool, version, arch, artifact))
    return StandIn(
        tool=tool.name,
        version=version,
        arch=arch,
        upstream_url=tool.artifact_url(version, arch),
        checksum_url=tool.checksum_file_url(version, arch),
        member=member,
        binary=binary,
        artifact=artifact,
        files=files,
    )


def extract_member(stand_in: StandIn) -> bytes:
    """Read the binary back out of the artifact the way an installer would (for self-tests)."""
    if stand_in.member is None:
        return stand_in.artifact
    if stand_in.artifact[:2] == b"\x1f\x8b":
        with tarfile.open(fileobj=io.BytesIO(stand_in.artifact), mode="r:gz") as tar:
            fh = tar.extractfile(stand_in.member)
            assert fh is not None
            return fh.read()
    with zipfile.ZipFile(io.BytesIO(stand_in.artifact)) as zf:
        return zf.read(stand_in.member)
