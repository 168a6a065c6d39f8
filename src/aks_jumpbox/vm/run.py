"""One `try` run: boot the base image, provision it as Packer does, reboot it, check it from outside.

The caller gets events as they happen (for a live timeline) and a `TryResult` at the end. Nothing of
the base image is written (the guest runs on a copy-on-write overlay); the run's folder holds the
ephemeral key, the seed, the overlay, the console log and the transcript of the scripts.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aks_jumpbox.core.buildlog import parse_log
from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.model import Plan
from aks_jumpbox.vm import network, packer, qemu, seed
from aks_jumpbox.vm.checks import Check, run_checks
from aks_jumpbox.vm.ssh import Ssh, generate_key

BOOT_TIMEOUT = {"kvm": 300.0, "tcg": 900.0}
BASE_NOTE = (
    "the local base is the same release as the Azure marketplace image, not the same image (another kernel, "
    "no Azure agent): a pass here says the scripts work on that release, not that Azure's build will pass"
)


@dataclass(frozen=True)
class Event:
    kind: str  # accel | boot | booted | script | step-begin | step-end | step-failed | reboot | rebooted | check
    name: str = ""
    detail: str = ""
    seconds: float | None = None


@dataclass
class StepTiming:
    name: str
    phase: str  # customize | validate
    status: str  # passed | failed | running
    seconds: float | None = None


@dataclass
class Failure:
    step: str
    reason: str
    lines: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass
class TryResult:
    accelerator: str
    accel_note: str
    base_disk: str
    workdir: Path
    phases: dict[str, float] = field(default_factory=dict)
    steps: list[StepTiming] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    failure: Failure | None = None
    reachable: list[str] = field(default_factory=list)
    ssh_command: str | None = None
    pid: int | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and all(c.ok for c in self.checks) and bool(self.checks)


class _Timeline:
    """Step events from the script's markers, parsed by core/buildlog.py one line at a time."""

    def __init__(self, phase: str, emit: Callable[[Event], None], result: TryResult):
        self.phase, self.emit, self.result = phase, emit, result
        self.open: dict[str, tuple[float, StepTiming]] = {}

    def line(self, text: str) -> None:
        report = parse_log(text)
        if not report.steps:
            return
        s = report.steps[0]
        now = time.monotonic()
        if s.began is not None:
            timing = StepTiming(s.name, self.phase, "running")
            self.result.steps.append(timing)
            self.open[s.name] = (now, timing)
            self.emit(Event("step-begin", s.name))
        elif s.name in self.open:
            started, timing = self.open.pop(s.name)
            timing.seconds = now - started
            timing.status = "passed" if s.ended is not None else "failed"
            kind = "step-end" if s.ended is not None else "step-failed"
            self.emit(Event(kind, s.name, s.why or "", timing.seconds))

    def close(self, failed: bool) -> None:
        now = time.monotonic()
        for started, timing in self.open.values():
            timing.seconds = now - started
            timing.status = "failed" if failed else "passed"
        self.open.clear()


def _wait_for_ssh(vm: qemu.VM, ssh: Ssh, timeout: float) -> str | None:
    """Wait until the build user logs in; None, or why it never did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        why = vm.failure()
        if why:
            return why
        try:
            rc, _ = ssh.run(seed.BUILD_USER, "true", timeout=30)
        except Exception:  # noqa: BLE001 - a hung connection attempt is one more try
            rc = 255
        if rc == 0:
            return None
        time.sleep(3)
    return f"SSH did not answer within {timeout:.0f}s"


def _boot_id(ssh: Ssh) -> str:
    rc, out = ssh.run(seed.BUILD_USER, "cat /proc/sys/kernel/random/boot_id")
    return out.strip() if rc == 0 else ""


def try_plan(
    plan: Plan,
    base_disk: Path,
    *,
    workdir: Path,
    accel: str = "auto",
    keep: bool = False,
    resolve: dict[tuple[str, int], str] | None = None,
    cache_dir: Path | None = None,
    on_event: Callable[[Event], None] = lambda e: None,
) -> TryResult:
    missing = qemu.missing_tools()
    if missing:
        raise UserError(
            f"try needs {', '.join(missing)}.", fix="Install them (e.g. apt-get install -y ...) and re-run."
        )
    if not base_disk.is_file():
        raise UserError(f"--base-disk {base_disk} is not a file.", fix="Pass the path of a qcow2 or raw cloud image.")
    started = time.monotonic()
    cache_dir = cache_dir or default_cache_dir()
    workdir.mkdir(parents=True, exist_ok=True)
    steps = packer.shell_steps(plan)
    fwds = network.forwards(network.allowed_endpoints(plan), resolve)
    key = generate_key(workdir)
    ssh_port = qemu.free_port()
    ssh = Ssh(key=key, port=ssh_port, known_hosts=workdir / "known_hosts")
    seed_iso = seed.write_seed_iso(
        workdir / "seed.iso",
        {
            "user-data": seed.user_data(ssh.public_key, network.hosts_lines(fwds)),
            "meta-data": seed.meta_data(f"aks-jumpbox-try-{uuid.uuid4().hex[:12]}"),
        },
    )
    netdev = network.netdev(ssh_port, fwds)

    if accel == "auto":
        known = qemu.kvm_known_bad(cache_dir)
        usable, probe_note = (
            (False, f"KVM failed a real guest on this host before: {known}") if known else qemu.probe_kvm(workdir)
        )
        chosen, note = ("kvm", "") if usable else ("tcg", probe_note)
    else:
        chosen, note = accel, "chosen with --accel"
    result = TryResult(
        accelerator=chosen,
        accel_note=note,
        base_disk=str(base_disk),
        workdir=workdir,
        reachable=[f"{f.host}:{f.port}" for f in fwds],
    )
    on_event(Event("accel", chosen, qemu.SPEED[chosen] + (f" ({note})" if note else "")))

    disk = workdir / "disk.qcow2"
    size = plan.spec.build.os_disk_size_gb
    vm = qemu.VM(accel=chosen, workdir=workdir, disk=disk, seed=seed_iso, netdev=netdev, ssh_port=ssh_port)
    try:
        t0 = time.monotonic()
        qemu.overlay(base_disk, disk, size)
        on_event(Event("boot", chosen))
        vm.start(outlive=keep)
        why = _wait_for_ssh(vm, ssh, BOOT_TIMEOUT[vm.accel])
        if why in (qemu.KVM_FAILED, qemu.KVM_STALLED) and accel == "auto":
            vm.stop()
            note = f"KVM failed the real guest ({why}); fell back to TCG"
            qemu.remember_kvm_bad(cache_dir, str(why))
            result.accelerator, result.accel_note, vm.accel = "tcg", note, "tcg"
            on_event(Event("accel", "tcg", qemu.SPEED["tcg"] + f" ({note})"))
            disk.unlink()
            vm.console_log.unlink(missing_ok=True)
            qemu.overlay(base_disk, disk, size)
            vm.start(outlive=keep)
            why = _wait_for_ssh(vm, ssh, BOOT_TIMEOUT["tcg"])
        result.phases["boot"] = time.monotonic() - t0
        if why:
            result.failure = Failure("boot", why, vm.console_tail())
            return result
        on_event(Event("booted", seconds=result.phases["boot"]))

        transcript = workdir / "transcript.log"
        timeout = plan.spec.build.timeout_minutes * 60
        with open(transcript, "w", encoding="utf-8", buffering=1) as log:
            for index, step in enumerate(steps, 1):
                t0 = time.monotonic()
                on_event(Event("script", step.name, step.phase))
                rc, out = ssh.run(seed.BUILD_USER, f"cat > {step.remote_path(index)}", stdin=step.script.encode())
                if rc != 0:
                    result.failure = Failure(step.name, f"uploading the script failed: {out.strip()}", [])
                    return result
                lines: list[str] = []
                timeline = _Timeline(step.phase, on_event, result)

                def on_line(text: str, lines=lines, timeline=timeline) -> None:
                    lines.append(text)
                    log.write(text + "\n")
                    timeline.line(text)

                rc = ssh.stream(seed.BUILD_USER, step.execute_command(index) + " 2>&1", on_line, timeout)
                timeline.close(failed=rc != 0)
                result.phases[step.phase] = result.phases.get(step.phase, 0.0) + time.monotonic() - t0
                if rc != 0:
                    result.failure = _failure(step, rc, lines, ssh, plan)
                    return result

        t0 = time.monotonic()
        on_event(Event("reboot"))
        before = _boot_id(ssh)
        ssh.run(seed.BUILD_USER, "sudo systemctl reboot", timeout=60)
        deadline = time.monotonic() + BOOT_TIMEOUT[vm.accel]
        while True:
            why = _wait_for_ssh(vm, ssh, max(1.0, deadline - time.monotonic()))
            if why or _boot_id(ssh) not in ("", before):
                break
            time.sleep(2)
        result.phases["reboot"] = time.monotonic() - t0
        if why:
            result.failure = Failure("reboot", why, vm.console_tail())
            return result
        on_event(Event("rebooted", seconds=result.phases["reboot"]))

        t0 = time.monotonic()
        for check in run_checks(ssh, plan):
            result.checks.append(check)
            on_event(Event("check", check.name, check.detail, None if check.ok else -1.0))
        result.phases["checks"] = time.monotonic() - t0
        return result
    finally:
        result.phases["total"] = time.monotonic() - started
        if keep and vm.running():
            result.ssh_command = ssh.interactive_command(seed.BUILD_USER)
            result.pid = vm.pid
        else:
            vm.stop()
            disk.unlink(missing_ok=True)


def _failure(step: packer.ShellStep, rc: int, lines: list[str], ssh: Ssh, plan: Plan) -> Failure:
    """The failing step named and its lines shown, as `build` reads Image Builder's customization.log."""
    report = parse_log("\n".join(lines))
    name = report.failed_step or step.name
    reason = report.reason or f"the script exited with status {rc}"
    if report.failed_checks and report.failed_checks[0] not in reason:
        reason = f"{reason}: " + "; ".join(report.failed_checks)
    failure = Failure(name, reason, report.relevant or lines[-30:])
    # A tool whose step failed must not be on the image: look from outside.
    if name.startswith("tool:"):
        tool = name.removeprefix("tool:")
        for a in plan.artifacts:
            if a.name == tool:
                rc2, _ = ssh.run(seed.BUILD_USER, f"test -e {a.install_path}")
                failure.notes.append(
                    f"{a.install_path} is absent from the VM" if rc2 != 0 else f"{a.install_path} EXISTS on the VM"
                )
    return failure


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aks-jumpbox"
