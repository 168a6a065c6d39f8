"""`mirror sync`: hostile --from folders, --to folders and lock entries (mirror-index class).

Every case starts from a --from folder laid out as the mirror (helm 4.3.0, amd64) and a lock whose
URLs are the catalog's, pinning the digest of the folder's artifact; the spec keeps helm only.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable

from tests.hostile.case import Case

HELM = "https://get.helm.sh/helm-v4.3.0-linux-amd64.tar.gz"
NAME = "helm-v4.3.0-linux-amd64.tar.gz"
FOLDER = "helm/4.3.0/amd64"
SYNC = ("mirror", "sync", "-f", "jumpbox.yaml", "--from", "from", "--to", "mirror")
PAYLOAD = b"helm 4.3.0 amd64 archive, as copied in by other means\n" * 50


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _layout(ws, artifact: bytes = PAYLOAD, **entry) -> None:
    src = ws.work / "from" / FOLDER
    src.mkdir(parents=True)
    (src / NAME).write_bytes(artifact)
    (src / f"{NAME}.sha256sum").write_text(f"{_sha(artifact)}  {NAME}\n")
    art = {
        "url": HELM,
        "sha256": _sha(artifact),
        "checksumUrl": HELM + ".sha256sum",
        "source": "test",
        **entry,
    }
    lock = {
        "schema": "aks-jumpbox/lock/v1",
        "tools": {"helm": [{"version": "4.3.0", "artifacts": {"amd64": art}}]},
        "azureCli": {"versions": ["2.90.0"]},
    }
    (ws.work / "jumpbox.lock.json").write_text(json.dumps(lock, indent=2))


def _publish(target: str) -> Callable:
    """The --from artifact is a link out of the folder; the lock pins the target's digest (as an attacker
    who can plant a link and edit the lock would)."""

    def prepare(ws) -> None:
        path = ws.fill(target)
        with open(path, "rb") as fh:
            content = fh.read()
        _layout(ws, content)
        link = ws.work / "from" / FOLDER / NAME
        link.unlink()
        os.symlink(path, link)

    return prepare


def _outside_tree(ws) -> None:
    """A second copy of the layout outside --from; --from/helm links to it."""
    _layout(ws)
    outside = ws.root / "outside" / "helm"
    os.renames(ws.work / "from" / "helm", outside)
    (ws.work / "from").mkdir(exist_ok=True)
    os.symlink(outside, ws.work / "from" / "helm")


def _with(**entry) -> Callable:
    return lambda ws: _layout(ws, **entry)


def mi(id: str, expect: str, mentions: tuple[str, ...] = (), *, prepare: Callable = _layout, **kw) -> Case:
    kw.setdefault("args", SYNC)
    kw.setdefault("writes", ("{work}/mirror",))
    return Case(
        id,
        "mirror-index",
        expect,
        mentions,
        spec={"tools": {"helm": "4.3.0"}},
        prepare=prepare,
        verify=None,
        **kw,
    )


TO = "mirror/" + FOLDER


def _mirror_cases() -> list[Case]:
    return [
        mi("mi-baseline", "inert", why="a clean folder syncs: the hostile variants differ by one thing"),
        mi(
            "mi-from-artifact-links-to-passwd",
            "reject",
            (NAME,),
            prepare=_publish("/etc/passwd"),
            forbid=("root:x:0:0",),
            why="--from published what a link pointed at, outside the folder",
        ),
        mi(
            "mi-from-artifact-links-to-canary",
            "reject",
            (NAME,),
            prepare=_publish("{canary}/secret.txt"),
            forbid=("canary: a secret",),
        ),
        mi(
            "mi-from-checksum-links-out",
            "reject",
            (f"{NAME}.sha256sum",),
            forbid=("canary: a secret",),
            fs=(("symlink", f"from/{FOLDER}/{NAME}.sha256sum", "{canary}/secret.txt"),),
        ),
        mi("mi-from-folder-links-out", "reject", ("helm",), prepare=_outside_tree),
        mi("mi-from-artifact-fifo", "reject", (NAME,), fs=(("fifo", f"from/{FOLDER}/{NAME}"),)),
        mi(
            "mi-from-checksum-fifo",
            "reject",
            (f"{NAME}.sha256sum",),
            fs=(("fifo", f"from/{FOLDER}/{NAME}.sha256sum"),),
        ),
        mi("mi-from-artifact-a-directory", "reject", (NAME,), fs=(("dir", f"from/{FOLDER}/{NAME}"),)),
        mi(
            "mi-lock-checksum-traversal",
            "reject",
            ("helm",),
            args=("mirror", "sync", "-f", "jumpbox.yaml", "--from", "from", "--to", "deep/mirror"),
            writes=("{work}/deep/mirror",),
            forbid=("canary: a secret",),
            prepare=_with(checksumUrl="https://get.helm.sh/..%2F..%2F..%2F..%2F..%2Fcanary%2Fsecret.txt"),
            why="the decoded name read {root}/canary/secret.txt and wrote it to {work}/canary/, outside --to",
        ),
        mi(
            "mi-lock-checksum-etc",
            "reject",
            ("helm",),
            prepare=_with(checksumUrl="https://get.helm.sh/..%2F..%2Fetc%2Fx"),
        ),
        mi(
            "mi-lock-url-traversal",
            "reject",
            ("helm",),
            prepare=_with(url="https://get.helm.sh/..%2F..%2F..%2F..%2Fx"),
        ),
        mi(
            "mi-to-index-a-directory",
            "reject",
            ("aks-jumpbox-mirror.json",),
            reject_writes=True,
            fs=(("dir", "mirror/aks-jumpbox-mirror.json"),),
        ),
        mi(
            "mi-to-index-symlink",
            "either",
            ("aks-jumpbox-mirror.json",),
            reject_writes=True,
            fs=(("symlink", "mirror/aks-jumpbox-mirror.json", "{canary}/target.txt"),),
        ),
        mi(
            "mi-to-index-part-symlink",
            "either",
            ("aks-jumpbox-mirror.json",),
            reject_writes=True,
            fs=(("symlink", "mirror/aks-jumpbox-mirror.json.part", "{canary}/target.txt"),),
        ),
        mi(
            "mi-to-index-fifo",
            "either",
            ("aks-jumpbox-mirror.json",),
            reject_writes=True,
            fs=(("fifo", "mirror/aks-jumpbox-mirror.json"),),
        ),
        mi(
            "mi-to-artifact-part-symlink",
            "either",
            (NAME,),
            reject_writes=True,
            fs=(("symlink", f"{TO}/{NAME}.part", "{canary}/target.txt"),),
        ),
        mi(
            "mi-to-checksum-part-symlink",
            "either",
            (NAME,),
            reject_writes=True,
            fs=(("symlink", f"{TO}/{NAME}.sha256sum.part", "{canary}/target.txt"),),
        ),
        mi(
            "mi-to-tool-folder-symlink",
            "reject",
            ("helm",),
            reject_writes=True,
            fs=(("symlink", "mirror/helm", "{canary}/dir"),),
        ),
        mi(
            "mi-to-artifact-symlink",
            "either",
            (NAME,),
            reject_writes=True,
            fs=(("symlink", f"{TO}/{NAME}", "{canary}/target.txt"),),
            why="an artifact 'in place' that links out of --to is neither trusted nor written through",
        ),
        mi(
            "mi-from-index-hostile",
            "either",
            ("aks-jumpbox-mirror.json",),
            fs=(
                (
                    "file",
                    "from/aks-jumpbox-mirror.json",
                    '{"schema": "aks-jumpbox/mirror/v1", "schema": "x", "artifacts": [{"path": "../../canary/target.txt"}]}',  # noqa: E501 - literal data
                ),
            ),
        ),
        mi(
            "mi-from-index-fifo",
            "either",
            ("aks-jumpbox-mirror.json",),
            fs=(("fifo", "from/aks-jumpbox-mirror.json"),),
        ),
        mi(
            "mi-from-http",
            "reject",
            ("--from",),
            args=(
                "mirror",
                "sync",
                "-f",
                "jumpbox.yaml",
                "--from",
                "http://127.0.0.1:{trip}/m",
                "--to",
                "mirror",
            ),
        ),
        mi(
            "mi-from-userinfo",
            "reject",
            ("--from",),
            args=(
                "mirror",
                "sync",
                "-f",
                "jumpbox.yaml",
                "--from",
                "https://u:p@127.0.0.1:{trip}/m",
                "--to",
                "mirror",
            ),
        ),
    ]


CASES = _mirror_cases()
