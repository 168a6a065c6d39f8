"""The local VM: which accelerator works here, and the QEMU process around a copy-on-write disk.

KVM when it works, TCG (`-accel tcg -cpu max`, software emulation) otherwise. /dev/kvm can exist and
open yet fail a real guest ("KVM internal error", e.g. under nested virtualization), so the probe boots
a one-sector guest under KVM and the run falls back to TCG if the real guest still hits that error
before SSH answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from aks_jumpbox.core.errors import UserError

QEMU = "qemu-system-x86_64"
KVM_FAILED = "KVM internal error"
KVM_STALLED = "the guest printed nothing on its console for 45 s under KVM"
STALL_SECONDS = 45.0
# A boot sector that writes 0x31 to the isa-debug-exit port: QEMU exits with (0x31 << 1) | 1 = 99.
_PROBE_SECTOR = bytes([0xB0, 0x31, 0xE6, 0xF4, 0xF4, 0xEB, 0xFE])
_PROBE_EXIT = 99

SPEED = {
    "kvm": "KVM (hardware virtualization): expect about a minute or two for the default spec",
    "tcg": "TCG (software emulation, no usable KVM here): expect 3 to 6 minutes for the default spec",
}


def missing_tools() -> list[str]:
    """The host programs `try` needs that are not on PATH, with the Debian package of each."""
    need = {QEMU: "qemu-system-x86", "qemu-img": "qemu-utils", "ssh": "openssh-client", "ssh-keygen": "openssh-client"}
    return [f"{tool} (Debian/Ubuntu package {pkg})" for tool, pkg in need.items() if shutil.which(tool) is None]


def probe_kvm(workdir: Path, timeout: float = 20.0) -> tuple[bool, str]:
    """Whether KVM runs a guest here: (usable, why not)."""
    if not os.path.exists("/dev/kvm"):
        return False, "/dev/kvm does not exist"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "/dev/kvm is not readable and writable by this user"
    sector = workdir / "kvm-probe.img"
    sector.write_bytes(_PROBE_SECTOR + bytes(510 - len(_PROBE_SECTOR)) + b"\x55\xaa")
    cmd = [
        QEMU,
        "-accel",
        "kvm",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-m",
        "16",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-drive",
        f"file={sector},format=raw,if=floppy",
        "-boot",
        "a",
    ]
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"a probe guest did not finish under KVM within {timeout:.0f}s"
    finally:
        sector.unlink(missing_ok=True)
    if proc.returncode == _PROBE_EXIT and KVM_FAILED not in proc.stderr:
        return True, ""
    why = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
    return False, f"a probe guest failed under KVM: {why}"


def _kvm_key() -> str:
    """This host's kernel and QEMU: a KVM verdict holds while both stay the same."""
    import platform

    proc = subprocess.run([QEMU, "--version"], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return f"{platform.release()} | {(proc.stdout.splitlines() or [''])[0]}"


def kvm_known_bad(cache_dir: Path) -> str | None:
    """Why KVM failed a real guest on this host before (same kernel and QEMU), or None."""
    try:
        key, _, why = (cache_dir / "kvm-verdict").read_text().partition("\n")
    except OSError:
        return None
    if key != _kvm_key():
        return None
    return why.strip() or "it failed before"


def remember_kvm_bad(cache_dir: Path, why: str) -> None:
    with contextlib.suppress(OSError):
        cache_dir.mkdir(parents=True, exist_ok=True)
        (cache_dir / "kvm-verdict").write_text(f"{_kvm_key()}\n{why}\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def disk_format(path: Path) -> str:
    proc = subprocess.run(
        ["qemu-img", "info", "--output=json", str(path)], stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise UserError(
            f"--base-disk {path} is not a disk image QEMU reads: {proc.stderr.strip()[:300]}",
            fix="Pass a qcow2 or raw cloud image.",
        )
    fmt = json.loads(proc.stdout).get("format", "")
    if fmt not in ("qcow2", "raw"):
        raise UserError(f"--base-disk {path} is a {fmt or 'unknown'} image.", fix="Pass a qcow2 or raw cloud image.")
    return fmt


def overlay(base: Path, path: Path, size_gb: int) -> Path:
    """A copy-on-write disk over base (never written to), grown to size_gb as Image Builder's OS disk is."""
    fmt = disk_format(base)
    proc = subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", fmt, "-b", str(base.resolve()), str(path), f"{size_gb}G"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"qemu-img create failed: {proc.stderr.strip()}")
    return path


@dataclass
class VM:
    """A running guest. `stop()` ends it; with --keep it is left running (its pid in `pid`)."""

    accel: str
    workdir: Path
    disk: Path
    seed: Path
    netdev: str
    ssh_port: int
    memory_mb: int = 2048
    cpus: int = 2
    process: subprocess.Popen | None = None
    _console_seen: tuple[int, float] = (-1, 0.0)  # (size, when it last changed): the KVM stall watch

    @property
    def console_log(self) -> Path:
        return self.workdir / "console.log"

    @property
    def qemu_log(self) -> Path:
        return self.workdir / "qemu.log"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        cpu = ["-cpu", "host"] if self.accel == "kvm" else ["-cpu", "max"]
        return [
            QEMU,
            "-accel",
            self.accel,
            *cpu,
            "-m",
            str(self.memory_mb),
            "-smp",
            str(self.cpus),
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-drive",
            f"file={self.disk},format=qcow2,if=virtio,discard=unmap",
            "-drive",
            f"file={self.seed},format=raw,media=cdrom,readonly=on",
            "-netdev",
            self.netdev,
            "-device",
            "virtio-net-pci,netdev=net0",
            "-object",
            "rng-random,filename=/dev/urandom,id=rng0",
            "-device",
            "virtio-rng-pci,rng=rng0",
            "-serial",
            f"file:{self.console_log}",
            "-monitor",
            "none",
        ]

    def start(self, *, outlive: bool = False) -> None:
        """Start QEMU in its own session (Ctrl-C at the terminal reaches `try`, which stops the VM itself).
        Unless it is to outlive `try` (--keep), the kernel ends it if `try` dies without cleaning up."""
        with open(self.qemu_log, "wb") as err:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                start_new_session=True,
                preexec_fn=None if outlive else _die_with_parent,
            )

    def failure(self) -> str | None:
        """Why QEMU is no longer running the guest, or None while it is."""
        text = self.qemu_log.read_text(errors="replace") if self.qemu_log.exists() else ""
        if KVM_FAILED in text:
            return KVM_FAILED
        if self.accel == "kvm":
            # Seen here: KVM that passes the probe yet hangs a real kernel right after the boot loader.
            size = self.console_log.stat().st_size if self.console_log.exists() else 0
            now = time.monotonic()
            if size != self._console_seen[0]:
                self._console_seen = (size, now)
            elif now - self._console_seen[1] > STALL_SECONDS:
                return KVM_STALLED
        if self.process is not None and self.process.poll() is not None:
            last = (text.strip().splitlines() or [f"exit code {self.process.returncode}"])[-1]
            return f"QEMU exited: {last}"
        return None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def console_tail(self, n: int = 20) -> list[str]:
        if not self.console_log.exists():
            return []
        return self.console_log.read_text(errors="replace").splitlines()[-n:]


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def wait_until(predicate, timeout: float, interval: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
