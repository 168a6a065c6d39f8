"""`aks-jumpbox try`: build the image in a local QEMU VM the way Image Builder does, in minutes."""

from __future__ import annotations

import signal
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import click

from aks_jumpbox.cli.context import resolve_plan
from aks_jumpbox.cli.present import console, emit_json, esc, lock_option, output_option, spec_option
from aks_jumpbox.core.errors import OperationFailed, UserError


def _resolve(values: tuple[str, ...]) -> dict[tuple[str, int], str]:
    out: dict[tuple[str, int], str] = {}
    for value in values:
        host, sep, rest = value.partition(":")
        port, sep2, address = rest.partition(":")
        if not (sep and sep2 and host and port.isdigit() and 0 < int(port) < 65536 and address):
            raise UserError(
                f"--resolve {value!r} is not HOST:PORT:ADDRESS.",
                fix="Write it like curl's, e.g. mirror.corp:443:10.1.2.3.",
            )
        out[(host.lower(), int(port))] = address
    return out


@click.command("try")
@spec_option
@lock_option
@click.option(
    "--base-disk",
    "base_disk",
    type=click.Path(dir_okay=False),
    default=None,
    help="The base image to boot: a qcow2 or raw cloud image of the spec's base (e.g. Debian 12 genericcloud), "
    "for air-gapped use. Default: the lock's pinned base image, downloaded once (from the mirror in mirror mode), "
    "verified by SHA-256 and cached. It is never written to.",
)
@click.option(
    "--accel",
    type=click.Choice(["auto", "kvm", "tcg"]),
    default="auto",
    show_default=True,
    help="KVM, TCG (software emulation), or auto: KVM when a probe and the guest's boot show it works here.",
)
@click.option("--keep", is_flag=True, help="Leave the VM running at the end and print the ssh command to get in.")
@click.option(
    "--resolve",
    "resolve",
    multiple=True,
    metavar="HOST:PORT:ADDRESS",
    help="Connect to ADDRESS for HOST:PORT (like curl's --resolve), e.g. a mirror this machine reaches by another "
    "name: the guest's forwards and try's own download of the base image. Repeatable.",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where the run's key, seed, disk overlay and logs go. Default: a new folder under the temporary directory.",
)
@output_option
def command(
    spec_path: str | None,
    lock_path: str | None,
    base_disk: str | None,
    accel: str,
    keep: bool,
    resolve: tuple[str, ...],
    workdir: str | None,
    output: str,
) -> None:
    """Boot the base image locally (QEMU), run the image template's Shell customizers and validation as
    Image Builder's Packer does (as a sudo build user over SSH, /bin/sh -e), reboot, and check the result
    from outside over SSH: authentication methods, root login, every tool's version, the manifest.

    The guest reaches only what the build would (the mirror, in mirror mode), enforced by QEMU.
    The local base is the same release as the marketplace image, not the same image.
    Exit 0 when every step and check passes, 1 when one fails, 2 for bad input.
    """
    from aks_jumpbox.vm.run import BASE_NOTE, try_plan

    pins = _resolve(resolve)
    inputs, plan = resolve_plan(spec_path, lock_path)
    if plan.spec.architecture != "amd64":  # the guest is qemu-system-x86_64's; an arm64 image would not boot
        raise UserError(
            f"{inputs.spec_label}: architecture: {plan.spec.architecture}: try boots amd64 guests only.",
            fix="Try the spec with `architecture: amd64` (the scripts are the same but for the downloads), "
            "then build the arm64 image in Azure.",
        )
    disk = Path(base_disk) if base_disk else _pinned_base_disk(inputs, plan, resolve=pins)
    folder = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="aks-jumpbox-try-"))
    show = _Live(output == "text")
    if output == "text":
        con = console()
        con.print(f"[bold]aks-jumpbox try[/] {plan.hash[:12]}  base {esc(plan.spec.base_image)} from {esc(disk)}")
        con.print(f"  note: {esc(BASE_NOTE)}")
    # SIGTERM ends the run like Ctrl-C does: the VM is stopped and its disk removed on the way out.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = try_plan(plan, disk, workdir=folder, accel=accel, keep=keep, resolve=pins, on_event=show.event)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if output == "json":
        emit_json(_document(plan, result))
    else:
        _present(result)
    if not result.ok:
        step = result.failure.step if result.failure else "checks"
        raise OperationFailed(f"try failed at {step}; the run's logs are in {folder}")


def _pinned_base_disk(inputs, plan, resolve: dict[tuple[str, int], str] | None = None) -> Path:
    """The lock's base image for the spec's base and architecture, from the local cache (filled on first use).
    --resolve applies to this download too (the mirror this machine reaches under another name)."""
    from aks_jumpbox.adapters.http import fetch_file
    from aks_jumpbox.adapters.imagecache import ensure_base_image
    from aks_jumpbox.core.baseimages import base_image_entry
    from aks_jumpbox.vm.run import default_cache_dir

    spec = plan.spec
    pin = base_image_entry(inputs.lock, spec.base_image, spec.architecture)
    if pin is None:
        raise UserError(
            f"{inputs.lock_label} pins no base image for {spec.base_image} ({spec.architecture}).",
            fix="Run `aks-jumpbox lock` to pin it, or pass --base-disk with a cloud image of that release.",
        )
    cache = default_cache_dir() / "images"

    def fetch(url: str, out: BinaryIO) -> str:
        return fetch_file(url, out, resolve=resolve)

    return Path(ensure_base_image(pin, mirror_base_url=spec.mirror.artifacts, cache_dir=cache, fetch=fetch))


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


class _Live:
    """The live timeline: one line per event, each step with its duration when it ends."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.con = console() if enabled else None

    def event(self, e) -> None:
        if not self.con:
            return
        c = self.con
        secs = f" ({e.seconds:.0f}s)" if e.seconds and e.seconds > 0 else ""
        if e.kind == "accel":
            c.print(f"  accel: {esc(e.detail)}")
        elif e.kind == "boot":
            c.print("  booting the base image ...")
        elif e.kind == "booted":
            c.print(f"  [green]up[/]: SSH answers as the build user{secs}")
        elif e.kind == "script":
            c.print(f"  {esc(e.detail)}: {esc(e.name)}")
        elif e.kind == "step-begin":
            c.print(f"    > {esc(e.name)}")
        elif e.kind == "step-end":
            c.print(f"    [green]✓[/] {esc(e.name)}{secs}")
        elif e.kind == "step-failed":
            c.print(f"    [red]✗[/] {esc(e.name)}{secs}: {esc(e.detail)}")
        elif e.kind == "reboot":
            c.print("  rebooting (the capture) ...")
        elif e.kind == "rebooted":
            c.print(f"  [green]up[/] again{secs}")
        elif e.kind == "check":
            mark = "[red]✗[/]" if e.seconds == -1.0 else "[green]✓[/]"
            c.print(f"    {mark} {esc(e.name)}: {esc(e.detail)}")


def _present(result) -> None:
    from rich.table import Table

    con = console()
    table = Table(title="verdict", title_justify="left", box=None, pad_edge=False)
    for col in ("phase", "step / check", "result", "time"):
        table.add_column(col)

    def secs(v: float | None) -> str:
        return f"{v:.0f}s" if v is not None else ""

    table.add_row(
        "boot",
        "base image to SSH",
        _mark(result.failure is None or result.failure.step != "boot"),
        secs(result.phases.get("boot")),
    )
    for s in result.steps:
        table.add_row(s.phase, esc(s.name), _mark(s.status == "passed"), secs(s.seconds))
    if "reboot" in result.phases:
        table.add_row(
            "reboot", "the capture: boots again", _mark(result.failure is None), secs(result.phases["reboot"])
        )
    for c in result.checks:
        table.add_row("outside-in", esc(c.name), _mark(c.ok), "")
    table.add_row("total", "", "[green]passed[/]" if result.ok else "[red]failed[/]", secs(result.phases.get("total")))
    con.print(table)
    con.print(f"  accelerator {result.accelerator}" + (f" ({esc(result.accel_note)})" if result.accel_note else ""))
    con.print(f"  the guest could reach only: {esc(', '.join(result.reachable) or 'nothing')}")
    if result.failure:
        f = result.failure
        con.print(f"[red]failed step[/] {esc(f.step)}: {esc(f.reason)}")
        for line in f.lines:
            con.print(f"  | {esc(line)}")
        for note in f.notes:
            con.print(f"  {esc(note)}")
    for c in result.checks:
        if not c.ok:
            con.print(f"[red]failed check[/] {esc(c.name)}: {esc(c.detail)}")
    con.print(f"  logs: {esc(result.workdir)}")
    if result.ssh_command:
        con.print("  the VM is still running (--keep); get in with:")
        con.print(f"    {esc(result.ssh_command)}")
        con.print(f"  stop it with: kill {result.pid}")


def _mark(ok: bool) -> str:
    return "[green]ok[/]" if ok else "[red]FAILED[/]"


def _document(plan, result) -> dict[str, Any]:
    from aks_jumpbox.vm.run import BASE_NOTE

    f = result.failure
    return {
        "verdict": "passed" if result.ok else "failed",
        "plan": plan.hash,
        "accelerator": result.accelerator,
        "acceleratorNote": result.accel_note,
        "baseDisk": result.base_disk,
        "baseNote": BASE_NOTE,
        "reachable": result.reachable,
        "seconds": {k: round(v, 1) for k, v in result.phases.items()},
        "steps": [
            {
                "name": s.name,
                "phase": s.phase,
                "status": s.status,
                "seconds": None if s.seconds is None else round(s.seconds, 1),
            }
            for s in result.steps
        ],
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in result.checks],
        "failure": None if f is None else {"step": f.step, "reason": f.reason, "lines": f.lines, "notes": f.notes},
        "workdir": str(result.workdir),
        "ssh": result.ssh_command,
        "pid": result.pid,
    }
