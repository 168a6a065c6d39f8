"""A Debian 12 base disk for `aks-jumpbox try` tests: a bootable qcow2 built from Debian's packages.

It stands in for the Debian 12 genericcloud image: BIOS + GRUB, the cloud kernel, systemd, cloud-init
reading a NoCloud seed, openssh-server, sudo, growpart. Built once with mmdebstrap (the only step that
reaches the host's Debian mirror) and cached under ~/.cache/aks-jumpbox/vm/ keyed by the recipe.

Also kept beside the disk, for the loopback mirror: every .deb the disk was built from (the OS archive
mirror serves them back), and the throw-away OS archive key the disk trusts (a Debian image trusts
Debian's archive key; the test mirror's Release files are signed with this one).

No loop device or mount: the root file system is made with `mke2fs -d` straight into the partition of a
raw file, and GRUB is installed by booting the disk's own kernel once (direct kernel boot, TCG) with a
one-shot init that runs grub-install and update-grub, then powers off.

Run `python -m tests.vm.basedisk` to pre-build the cache (`.ci/run` does).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.rootfs.harness import aptrepo
from tests.rootfs.harness.rootfs import PACKAGES as ROOTFS_PACKAGES
from tests.rootfs.harness.rootfs import RootfsUnavailable, _file_lock, cache_dir, host_debian_sources

SUITE = "bookworm"
ARCH = "amd64"
# What a Debian 12 cloud image has that a first boot and provision.sh rely on.
PACKAGES = tuple(
    sorted(
        {
            *ROOTFS_PACKAGES,
            "linux-image-cloud-amd64",
            "systemd-sysv",
            "udev",
            "dbus",
            "initramfs-tools",
            "grub-pc-bin",
            "grub2-common",
            "e2fsprogs",
            "iproute2",
            "openssh-server",
            "cloud-init",
            "cloud-guest-utils",
            "sudo",
        }
    )
)
DISK_GB = 4
PART_OFFSET = 1024 * 1024  # the root partition starts at 1 MiB, as cloud images' do
ROOT_LABEL = "aksjb-root"
# Bump when the recipe below changes in a way the package list does not show.
RECIPE_VERSION = 1

_GRUB_DEFAULT = """\
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=ttyS0,115200 net.ifnames=0"
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --speed=115200"
"""
# Like Debian's cloud images: NoCloud (our seed), no search of other clouds' metadata services.
_CLOUD_CFG = "datasource_list: [ NoCloud, None ]\n"
_FSTAB = f"LABEL={ROOT_LABEL} / ext4 rw,discard,errors=remount-ro 0 1\n"
# The one-shot init of the set-up boot: GRUB onto the disk, then power off.
_SETUP_INIT = """\
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -o remount,rw /
if grub-install --target=i386-pc /dev/vda && update-grub; then echo AKSJB-SETUP-OK; else echo AKSJB-SETUP-FAILED; fi
rm -f /sbin/aksjb-setup
sync
echo o > /proc/sysrq-trigger
sleep 30
"""


def missing_prerequisites() -> str | None:
    """Why the base disk cannot be built or used here, or None."""
    if sys.platform != "linux":
        return "the VM tests need Linux"
    if os.geteuid() != 0:
        return "building the test base disk needs root (mmdebstrap): run as root"
    for tool, package in (
        ("mmdebstrap", "mmdebstrap"),
        ("apt-ftparchive", "apt-utils"),
        ("mke2fs", "e2fsprogs"),
        ("sfdisk", "fdisk"),
        ("gpg", "gnupg"),
        ("qemu-system-x86_64", "qemu-system-x86"),
        ("qemu-img", "qemu-utils"),
        ("ssh", "openssh-client"),
        ("ssh-keygen", "openssh-client"),
    ):
        if shutil.which(tool) is None:
            return f"{tool} is missing: install it with `apt-get install -y {package}`"
    return None


def recipe_key() -> str:
    recipe = {
        "suite": SUITE,
        "arch": ARCH,
        "packages": list(PACKAGES),
        "disk_gb": DISK_GB,
        "grub": _GRUB_DEFAULT,
        "cloud": _CLOUD_CFG,
        "fstab": _FSTAB,
        "init": _SETUP_INIT,
        "v": RECIPE_VERSION,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class BaseDisk:
    disk: Path  # qcow2, never written to (runs use an overlay)
    debs: Path  # the .debs it was built from
    os_key: aptrepo.SigningKey  # the OS archive key it trusts
    key: str
    build_seconds: float | None = None


def _load_key(home: Path) -> aptrepo.SigningKey:
    fpr = (home / "fingerprint").read_text().strip()
    return aptrepo.SigningKey(
        gnupghome=home,
        fingerprint=fpr,
        armored=aptrepo._gpg(home, "--armor", "--export", fpr).decode(),
        keyring=aptrepo._gpg(home, "--export", fpr),
    )


def build_base_disk(root: Path | None = None, log=None) -> BaseDisk:
    """Build (once) and return the cached base disk."""
    reason = missing_prerequisites()
    if reason:
        raise RootfsUnavailable(reason)
    key = recipe_key()
    folder = (root or cache_dir()) / "vm" / f"base-{SUITE}-{key}"
    done = folder / ".complete"
    started = time.monotonic()
    built = False
    with _file_lock(folder.parent / f".lock-{key}"):
        if not done.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            _build(folder, log)
            done.write_text(f"{time.monotonic() - started:.1f}s\n")
            built = True
        _prune(folder)
    stop = aptrepo.stop_agent
    disk = BaseDisk(
        disk=folder / "disk.qcow2",
        debs=folder / "debs",
        os_key=_load_key(folder / "gnupg-os"),
        key=key,
        build_seconds=time.monotonic() - started if built else None,
    )
    stop(folder / "gnupg-os")
    return disk


def _prune(keep: Path) -> None:
    """Drop base disks of older recipes (each is ~1 GB); the lock keeps a parallel builder safe."""
    for old in keep.parent.glob(f"base-{SUITE}-*"):
        if old != keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def _run(cmd: list[str], what: str, **kw) -> subprocess.CompletedProcess:
    if "input" not in kw:
        kw["stdin"] = subprocess.DEVNULL
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise RootfsUnavailable(f"{what} failed ({proc.returncode}): {' '.join(cmd[:3])} ...\n{proc.stderr[-4000:]}")
    return proc


def _build(folder: Path, log) -> None:
    os_key = aptrepo.make_key(folder / "gnupg-os", "aks-jumpbox test OS archive <os@harness.invalid>")
    (folder / "gnupg-os" / "fingerprint").write_text(os_key.fingerprint + "\n")
    aptrepo.stop_agent(os_key.gnupghome)
    tree, debs = folder / "tree", folder / "debs"
    debs.mkdir()
    sources = folder / "host.sources"
    sources.write_text(host_debian_sources())
    t0 = time.monotonic()
    _run(
        [
            "mmdebstrap",
            "--quiet",
            "--variant=minbase",
            f"--architectures={ARCH}",
            "--include=" + ",".join(PACKAGES),
            "--components=main",
            "--skip=essential/unlink",
            f"--customize-hook=sync-out /var/cache/apt/archives {debs}",
            "--format=directory",
            SUITE,
            str(tree),
            str(sources),
        ],
        "mmdebstrap",
    )
    sources.unlink()
    for junk in ("lock", "partial"):
        p = debs / junk
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    if log:
        log(f"mmdebstrap: {time.monotonic() - t0:.0f}s")
    _configure(tree, os_key)
    raw = folder / "disk.raw"
    with open(raw, "wb") as fh:
        fh.truncate(DISK_GB * 1024**3)
    _run(
        ["sfdisk", "--quiet", str(raw)], "sfdisk", input=f"label: dos\nstart={PART_OFFSET // 512}, type=83, bootable\n"
    )
    size_kb = (DISK_GB * 1024**3 - PART_OFFSET) // 1024
    _run(
        [
            "mke2fs",
            "-q",
            "-t",
            "ext4",
            "-L",
            ROOT_LABEL,
            "-d",
            str(tree),
            "-E",
            f"offset={PART_OFFSET}",
            str(raw),
            f"{size_kb}k",
        ],
        "mke2fs",
    )
    kernel = sorted(tree.glob("boot/vmlinuz-*"))[-1]
    initrd = sorted(tree.glob("boot/initrd.img-*"))[-1]
    shutil.copy(kernel, folder / "vmlinuz")
    shutil.copy(initrd, folder / "initrd.img")
    shutil.rmtree(tree)
    t0 = time.monotonic()
    _install_grub(folder, raw)
    if log:
        log(f"GRUB set-up boot: {time.monotonic() - t0:.0f}s")
    _run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(folder / "disk.qcow2")], "qemu-img convert")
    raw.unlink()
    (folder / "vmlinuz").unlink()
    (folder / "initrd.img").unlink()


def _configure(tree: Path, os_key: aptrepo.SigningKey) -> None:
    """What mmdebstrap leaves that a cloud image has otherwise."""
    (tree / "etc/fstab").write_text(_FSTAB)
    (tree / "etc/hostname").write_text("debian\n")
    (tree / "etc/hosts").write_text("127.0.0.1 localhost\n127.0.1.1 debian\n::1 localhost ip6-localhost\n")
    (tree / "etc/default/grub").write_text(_GRUB_DEFAULT)
    (tree / "etc/cloud/cloud.cfg.d/90_aksjb_datasource.cfg").write_text(_CLOUD_CFG)
    (tree / "etc/apt/trusted.gpg.d/aks-jumpbox-test-os.gpg").write_bytes(os_key.keyring)
    for f in (tree / "etc/apt/sources.list.d").glob("*"):
        f.unlink()
    # A Debian cloud image points at the Debian archive; the build's mirror mode sets it aside.
    (tree / "etc/apt/sources.list").write_text("deb https://debian.invalid/debian bookworm main\n")
    # Empty: systemd makes a machine ID on first boot, so two VMs from this disk differ.
    (tree / "etc/machine-id").write_text("")
    (tree / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    # systemd-networkd brings up the NIC cloud-init configures (no ifupdown, no netplan here).
    wants = tree / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / "systemd-networkd.service"
    if not link.exists():
        link.symlink_to("/lib/systemd/system/systemd-networkd.service")
    init = tree / "sbin/aksjb-setup"
    init.write_text(_SETUP_INIT)
    init.chmod(0o755)


def _install_grub(folder: Path, raw: Path) -> None:
    log = folder / "setup-boot.log"
    cmd = [
        "qemu-system-x86_64",
        "-accel",
        "tcg",
        "-cpu",
        "max",
        "-m",
        "1024",
        "-nographic",
        "-no-reboot",
        "-nic",
        "none",
        "-drive",
        f"file={raw},format=raw,if=virtio",
        "-kernel",
        str(folder / "vmlinuz"),
        "-initrd",
        str(folder / "initrd.img"),
        "-append",
        f"root=LABEL={ROOT_LABEL} rw console=ttyS0 init=/sbin/aksjb-setup panic=-1",
        "-serial",
        f"file:{log}",
        "-monitor",
        "none",
    ]
    subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=900)
    text = log.read_text(errors="replace")
    if "AKSJB-SETUP-OK" not in text:
        raise RootfsUnavailable(f"installing GRUB on the test base disk failed; the boot log ends:\n{text[-3000:]}")


def main() -> int:
    reason = missing_prerequisites()
    if reason:
        print(f"vm base disk: not built: {reason}", file=sys.stderr)
        return 1
    disk = build_base_disk(log=print)
    print(f"vm base disk: {disk.disk} ready" + (f" (built in {disk.build_seconds:.0f}s)" if disk.build_seconds else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
