"""A Debian 12 root filesystem that stands in for the build VM, and a chroot to run scripts in it.

Building (mmdebstrap, network to the host's Debian mirror) is setup, done once and cached under
~/.cache/aks-jumpbox keyed by the recipe; each test then gets a fresh copy-on-write view of it
(overlayfs; a plain copy where overlayfs is unavailable) with /proc, /dev, /dev/pts, /run and a
read-only /sys mounted like a booted VM has them. Leaving a `Chroot` always kills every process
whose root is inside it and unmounts everything, lazily if a mount stays busy.

Run `python -m tests.rootfs.harness.rootfs` to pre-build the cache (`.ci/run` does).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SUITE = "bookworm"
ARCH = "amd64"
VARIANT = "minbase"
# What a Debian Azure image has that provision.sh relies on (the image has much more).
PACKAGES = (
    "ca-certificates",
    "curl",
    "gnupg",
    "openssh-server",
    "unzip",
    "tar",
    "gzip",
    "procps",
    "util-linux",
)
# Bump when the recipe below changes in a way the package list does not show.
RECIPE_VERSION = 1

# A root shell on the VM: no inherited variables from the test process.
CLEAN_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "USER": "root",
    "LOGNAME": "root",
    "SHELL": "/bin/bash",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
}


class RootfsUnavailable(RuntimeError):
    """The machine cannot build or enter a root filesystem (not root, mmdebstrap missing...)."""


def missing_prerequisites() -> str | None:
    """Why the rootfs harness cannot run here, or None when it can."""
    if sys.platform != "linux":
        return "the rootfs harness needs Linux"
    if os.geteuid() != 0:
        return "the rootfs harness needs root (chroot, mount): run `sudo uv run pytest -m rootfs`"
    for tool, package in (
        ("mmdebstrap", "mmdebstrap"),
        ("apt-ftparchive", "apt-utils"),
        ("dpkg-deb", "dpkg"),
        ("gpg", "gnupg"),
        ("chroot", "coreutils"),
        ("mount", "mount"),
    ):
        if shutil.which(tool) is None:
            return f"{tool} is missing: install it with `apt-get install -y {package}`"
    return None


# ---------------------------------------------------------------------------------------------
# The host's Debian mirror (read at run time; no mirror host is written into the repository)


def _deb822_stanzas(text: str) -> list[dict[str, str]]:
    stanzas, current = [], {}
    key = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                stanzas.append(current)
            current, key = {}, None
            continue
        if line[0] in " \t" and key:
            current[key] += " " + line.strip()
            continue
        key, _, value = line.partition(":")
        key = key.strip().lower()
        current[key] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def _one_line_entries(text: str) -> list[dict[str, str]]:
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.match(r"^deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$", line)
        if m:
            opts = m.group(1) or ""
            signed = re.search(r"signed-by=(\S+?)\]?(\s|$)", opts)
            entry = {"types": "deb", "uris": m.group(2), "suites": m.group(3), "components": m.group(4)}
            if signed:
                entry["signed-by"] = signed.group(1).rstrip("]")
            out.append(entry)
    return out


def host_debian_sources(etc_apt: Path = Path("/etc/apt"), suite: str = SUITE) -> str:
    """A deb822 sources text with the host's Debian archive entries for suite (and -updates/-security).

    Third-party repositories on the host are left out: only stanzas for the Debian suites, signed
    by the Debian archive keyring (or unsigned-by, i.e. trusted by default), are kept.
    AKS_JUMPBOX_DEBIAN_MIRROR (a URL) overrides the host's configuration.
    """
    override = os.environ.get("AKS_JUMPBOX_DEBIAN_MIRROR")
    if override:
        return f"Types: deb\nURIs: {override}\nSuites: {suite} {suite}-updates\nComponents: main\n"
    entries: list[dict[str, str]] = []
    files = [etc_apt / "sources.list"] + sorted((etc_apt / "sources.list.d").glob("*.list"))
    for f in files:
        if f.is_file():
            entries += _one_line_entries(f.read_text(encoding="utf-8", errors="replace"))
    for f in sorted((etc_apt / "sources.list.d").glob("*.sources")):
        entries += _deb822_stanzas(f.read_text(encoding="utf-8", errors="replace"))
    wanted = {suite, f"{suite}-updates", f"{suite}-security"}
    out = []
    for e in entries:
        if e.get("enabled", "yes").lower() == "no" or "deb" not in e.get("types", "").split():
            continue
        suites = [s for s in e.get("suites", "").split() if s in wanted]
        signed = e.get("signed-by", "")
        if not suites or "main" not in e.get("components", "").split():
            continue
        if signed and "debian-archive-keyring" not in signed:
            continue
        stanza = f"Types: deb\nURIs: {e['uris']}\nSuites: {' '.join(suites)}\nComponents: main\n"
        if signed:
            stanza += f"Signed-By: {signed}\n"
        out.append(stanza)
    if not any(suite in s.split("Suites: ", 1)[1].split("\n", 1)[0].split() for s in out):
        raise RootfsUnavailable(
            f"no Debian {suite} archive is configured in {etc_apt}/sources.list(.d); set"
            " AKS_JUMPBOX_DEBIAN_MIRROR to a Debian mirror URL"
        )
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# The cached image


def cache_dir() -> Path:
    explicit = os.environ.get("AKS_JUMPBOX_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aks-jumpbox"


def recipe_key(packages: Sequence[str] = PACKAGES) -> str:
    recipe = {"suite": SUITE, "arch": ARCH, "variant": VARIANT, "packages": sorted(packages), "v": RECIPE_VERSION}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RootfsImage:
    """A built, extracted rootfs (read-only lower layer) and the .debs it was built from."""

    tarball: Path
    tree: Path
    debs: Path
    key: str


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _prepare_tree(tree: Path) -> None:
    """Turn mmdebstrap's output into the static part of a "Debian on Azure" base image."""
    # mmdebstrap copied the host's sources (naming the host's mirror); an Azure Debian image
    # points at Azure's Debian archive instead. Per-test setup writes those sources.
    for f in (tree / "etc/apt/sources.list.d").glob("*"):
        f.unlink()
    (tree / "etc/apt/sources.list").unlink(missing_ok=True)
    # Nothing manages services in a chroot: package scripts must not start daemons (sshd would
    # bind the host's port 22). On the real VM systemd handles this.
    policy = tree / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\n# rootfs harness: no service starts in the chroot\nexit 101\n")
    policy.chmod(0o755)


def build_image(packages: Sequence[str] = PACKAGES, root: Path | None = None, log=None) -> RootfsImage:
    """Build (once) and return the cached rootfs image. Needs root, mmdebstrap and the Debian mirror."""
    reason = missing_prerequisites()
    if reason:
        raise RootfsUnavailable(reason)
    root = root or cache_dir()
    key = recipe_key(packages)
    tarball = root / f"rootfs-{SUITE}-{key}.tar"
    debs = root / f"debs-{SUITE}-{key}"
    tree = root / f"tree-{SUITE}-{key}"
    done = tree / ".aks-jumpbox-complete"
    with _file_lock(root / f".lock-{key}"):
        if not (tarball.is_file() and (debs / ".complete").is_file()):
            _mmdebstrap(packages, tarball, debs, log)
        if not done.is_file():
            tmp = tree.with_name(tree.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            subprocess.run(["tar", "-xf", str(tarball), "-C", str(tmp), "--numeric-owner"], check=True)
            _prepare_tree(tmp)
            shutil.rmtree(tree, ignore_errors=True)
            tmp.rename(tree)
            done.write_text(key + "\n")
        _prune(root, key)
    return RootfsImage(tarball=tarball, tree=tree, debs=debs, key=key)


def _prune(root: Path, key: str) -> None:
    """Drop images of older recipes (each is ~0.5 GB); the lock keeps a parallel builder safe."""
    for old in root.glob(f"*-{SUITE}-*"):
        if key in old.name or old.name.endswith(".tmp"):
            continue
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def _mmdebstrap(packages: Sequence[str], tarball: Path, debs: Path, log) -> None:
    tarball.parent.mkdir(parents=True, exist_ok=True)
    sources = tarball.with_name(f".sources-{os.getpid()}.sources")
    sources.write_text(host_debian_sources())
    deb_tmp = debs.with_name(debs.name + ".tmp")
    shutil.rmtree(deb_tmp, ignore_errors=True)
    deb_tmp.mkdir(parents=True)
    tar_tmp = tarball.with_name(tarball.name + ".tmp")
    cmd = [
        "mmdebstrap",
        "--quiet",
        f"--variant={VARIANT}",
        f"--architectures={ARCH}",
        "--include=" + ",".join(packages),
        "--components=main",
        # keep every .deb of the image: the loopback OS mirror serves them back to apt
        "--skip=essential/unlink",
        f"--customize-hook=sync-out /var/cache/apt/archives {deb_tmp}",
        "--format=tar",
        SUITE,
        str(tar_tmp),
        str(sources),
    ]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    finally:
        sources.unlink(missing_ok=True)
    if proc.returncode != 0:
        tar_tmp.unlink(missing_ok=True)
        raise RootfsUnavailable(f"mmdebstrap failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    for junk in ("lock", "partial"):
        p = deb_tmp / junk
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    (deb_tmp / ".complete").write_text(f"{time.monotonic() - started:.1f}s\n")
    shutil.rmtree(debs, ignore_errors=True)
    deb_tmp.rename(debs)
    tar_tmp.rename(tarball)
    if log:
        log(f"built {tarball} in {time.monotonic() - started:.1f}s")


# ---------------------------------------------------------------------------------------------
# A fresh root per test, and the chroot around it


def _run(cmd: Sequence[str]) -> None:
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, capture_output=True)


def processes_inside(root: Path) -> list[int]:
    """PIDs whose root directory is root or below it (i.e. running in the chroot)."""
    real = os.path.realpath(root)
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            proot = os.readlink(f"/proc/{entry}/root")
        except OSError:
            continue
        if proot == real or proot.startswith(real + "/"):
            pids.append(int(entry))
    return pids


def kill_inside(root: Path, timeout: float = 5.0) -> list[int]:
    """SIGKILL everything running inside root and wait until it is gone; returns what was killed."""
    killed: list[int] = []
    deadline = time.monotonic() + timeout
    while True:
        pids = [p for p in processes_inside(root) if p != os.getpid()]
        if not pids:
            return killed
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        if time.monotonic() > deadline:
            return killed
        time.sleep(0.05)


def mounts_below(path: Path) -> list[str]:
    """Mount points at or below path, deepest first (from /proc/self/mountinfo)."""
    real = os.path.realpath(path)
    points = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == real or point.startswith(real + "/"):
                points.append(point)
    return sorted(points, key=lambda p: p.count("/"), reverse=True)


def unmount_all(path: Path) -> None:
    for point in mounts_below(path):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)


@dataclass
class RunResult:
    returncode: int
    output: str  # stdout and stderr interleaved, as a build log shows them
    seconds: float

    def markers(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith("==> aks-jumpbox step ")]


class Chroot:
    """A fresh root filesystem for one test, mounted like a VM; always cleaned up on exit."""

    def __init__(self, image: RootfsImage, workdir: Path):
        self.image = image
        self.workdir = workdir
        self.root = workdir / "root"
        self._mounted: list[Path] = []

    # -- lifecycle
    def __enter__(self) -> Chroot:
        try:
            self._create_root()
            self._mount_vm_filesystems()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        kill_inside(self.root)
        unmount_all(self.workdir)

    def _create_root(self) -> None:
        upper, work = self.workdir / "upper", self.workdir / "work"
        for d in (self.root, upper, work):
            d.mkdir(parents=True, exist_ok=True)
        opts = f"lowerdir={self.image.tree},upperdir={upper},workdir={work}"
        rc = subprocess.run(
            ["mount", "-t", "overlay", "overlay", "-o", opts, str(self.root)], capture_output=True
        ).returncode
        if rc != 0:  # no overlayfs here: a full copy (reflinked where the file system can)
            self.root.rmdir()
            subprocess.run(["cp", "-a", "--reflink=auto", str(self.image.tree), str(self.root)], check=True)

    def _mount_vm_filesystems(self) -> None:
        r = self.root
        _run(["mount", "-t", "proc", "-o", "nosuid,nodev,noexec", "proc", str(r / "proc")])
        _run(["mount", "-t", "sysfs", "-o", "ro,nosuid,nodev,noexec", "sysfs", str(r / "sys")])
        # A minimal /dev (not the host's: no host disks inside the "VM").
        dev = r / "dev"
        _run(["mount", "-t", "tmpfs", "-o", "mode=0755,nosuid", "devtmp", str(dev)])
        for name, major, minor in (
            ("null", 1, 3),
            ("zero", 1, 5),
            ("full", 1, 7),
            ("random", 1, 8),
            ("urandom", 1, 9),
            ("tty", 5, 0),
        ):
            os.mknod(dev / name, 0o666 | 0o020000, os.makedev(major, minor))
            os.chmod(dev / name, 0o666)
        (dev / "pts").mkdir()
        (dev / "shm").mkdir(mode=0o1777)
        os.chmod(dev / "shm", 0o1777)
        _run(["mount", "-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=0620,gid=5", "devpts", str(dev / "pts")])
        _run(["mount", "-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "shm", str(dev / "shm")])
        os.symlink("pts/ptmx", dev / "ptmx")
        for name, target in (
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ):
            os.symlink(target, dev / name)
        # /run is a tmpfs on a booted VM; sshd's runtime directory exists because ssh.service runs.
        _run(["mount", "-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "run", str(r / "run")])
        (r / "run/lock").mkdir(mode=0o1777)
        os.chmod(r / "run/lock", 0o1777)
        (r / "run/sshd").mkdir(mode=0o755)

    # -- use
    def path(self, inside: str) -> Path:
        """The host path of a path inside the chroot."""
        return self.root / inside.lstrip("/")

    def write(self, inside: str, data: str | bytes, mode: int = 0o644) -> Path:
        p = self.path(inside)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        p.chmod(mode)
        return p

    def run(
        self,
        argv: Sequence[str],
        timeout: float = 600,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
    ) -> RunResult:
        """Run argv inside the chroot as root with a clean environment and no stdin."""
        full_env = dict(CLEAN_ENV) | dict(env or {})
        log_path = log_path or (self.workdir / f"run-{time.monotonic_ns()}.log")
        started = time.monotonic()
        with open(log_path, "w+b") as out:
            proc = subprocess.Popen(
                ["chroot", str(self.root), *argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=full_env,
                cwd="/",
                start_new_session=True,
            )
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                rc = -9
                out.write(f"\n[harness] killed after {timeout}s\n".encode())
            out.seek(0)
            text = out.read().decode("utf-8", errors="replace")
        return RunResult(returncode=rc, output=text, seconds=time.monotonic() - started)

    def script(self, name: str, timeout: float = 600) -> RunResult:
        """Run /root/<name> the way the build VM does: bash, as root."""
        return self.run(
            ["/bin/bash", f"/root/{name}"], timeout=timeout, log_path=self.workdir / f"{name}.{time.monotonic_ns()}.log"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Pre-build the cached rootfs (setup for the rootfs tests; the only step that needs the mirror)."""
    reason = missing_prerequisites()
    if reason:
        print(f"rootfs: not built: {reason}", file=sys.stderr)
        return 1
    started = time.monotonic()
    image = build_image(log=print)
    print(f"rootfs: {image.tree} ready ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
