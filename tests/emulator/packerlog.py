"""Realistic Packer logs for Image Builder runs (customization.log, validation.log).

What each customizer prints comes from a callable ``output(template, step, index) -> lines`` so that a
test can feed the real output of the product's provision script (its step markers included). The
default echoes inline commands and names downloaded scripts. A ``StepFailure`` cuts a step's output after
the first line matching ``at`` and appends its stderr and Packer's error lines.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .faults import StepFailure

StepOutput = Callable[[dict[str, Any], dict[str, Any], int], Iterable[str]]


def default_output(template: dict[str, Any], step: dict[str, Any], index: int) -> list[str]:
    kind = step.get("type")
    if kind in ("Shell", "PowerShell") and step.get("inline"):
        return [f"+ {cmd}" for cmd in step["inline"]]
    if kind in ("Shell", "PowerShell") and step.get("scriptUri"):
        return [f"running {posixpath.basename(step['scriptUri'])}", "done"]
    return []


def _ts() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y/%m/%d %H:%M:%S")


def out(text: str) -> str:
    return f"[{_ts()}] PACKER OUT {text}"


def err(text: str) -> str:
    return f"[{_ts()}] PACKER ERR {text}"


def _provisioner(step: dict[str, Any], index: int) -> tuple[str, str]:
    kind = step.get("type", "Shell")
    if kind == "File":
        return "file", f"==> azure-arm: Uploading {step.get('sourceUri')} => {step.get('destination')}"
    if kind == "PowerShell":
        return "powershell", "==> azure-arm: Provisioning with Powershell..."
    if kind == "WindowsRestart":
        return "windows-restart", "==> azure-arm: Restarting Machine"
    if kind == "WindowsUpdate":
        return "windows-update", "==> azure-arm: Running Windows update..."
    script = posixpath.basename(step["scriptUri"]) if step.get("scriptUri") else f"packer-shell{1000 + index}"
    return "shell", f"==> azure-arm: Provisioning with shell script: /tmp/{script}"


@dataclass
class StepsLog:
    lines: list[str] = field(default_factory=list)
    failed_step: str | None = None  # name of the step that failed
    error: str | None = None  # Packer's one-line error


def _failing_index(names: list[str], outputs: list[list[str]], failure: StepFailure) -> int | None:
    if failure.customizer is not None:
        return names.index(failure.customizer) if failure.customizer in names else None
    if failure.at is not None:
        for i, produced in enumerate(outputs):
            if any(re.search(failure.at, line) for line in produced):
                return i
    return len(names) - 1 if names else None


def steps(
    template: dict[str, Any], items: list[dict[str, Any]], output: StepOutput, failure: StepFailure | None
) -> StepsLog:
    """Log lines for running ``items`` (customizers or in-VM validations) in order."""
    log = StepsLog()
    names = [s.get("name") or f"step{i}" for i, s in enumerate(items)]
    outputs = [[str(x) for x in output(template, step, i)] for i, step in enumerate(items)]
    target = _failing_index(names, outputs, failure) if failure is not None else None
    for i, step in enumerate(items):
        provisioner, header = _provisioner(step, i)
        log.lines.append(f"(telemetry) Starting provisioner {provisioner}")
        log.lines.append(out(header))
        produced = outputs[i]
        if i == target and failure is not None and failure.at:
            hit = next((k for k, line in enumerate(produced) if re.search(failure.at, line)), None)
            if hit is not None:
                produced = produced[: hit + 1]
        log.lines += [out(f"    azure-arm: {line}") for line in produced]
        if i == target and failure is not None:
            log.lines += [err(f"    azure-arm: {line}") for line in failure.stderr]
            log.error = (
                f"Script exited with non-zero exit status: {failure.exit_code}. Allowed exit codes are: [0]"
            )
            log.lines.append(err(f"==> azure-arm: {log.error}"))
            log.lines.append(f"(telemetry) ending {provisioner}")
            log.failed_step = names[i]
            return log
        log.lines.append(f"(telemetry) ending {provisioner}")
    return log


def preamble(template: dict[str, Any], run_id: str) -> list[str]:
    src = template.get("properties", {}).get("source", {})
    image = (
        ":".join(str(src.get(k, "")) for k in ("publisher", "offer", "sku", "version"))
        if src.get("type") == "PlatformImage"
        else src.get("imageId") or src.get("imageVersionId")
    )
    size = template.get("properties", {}).get("vmProfile", {}).get("vmSize") or "Standard_D2ds_v4"
    return [
        f"[{_ts()}] Build ID: {run_id}",
        out("Packer v1.11.2 [go1.22.5 linux amd64]"),
        "(telemetry) Starting builder azure-arm",
        out("==> azure-arm: Running builder ..."),
        out("==> azure-arm: Getting tokens using Managed Identity for Azure"),
        out(f"==> azure-arm:  -> Source image           : '{image}'"),
        out(f"==> azure-arm:  -> VM size                : '{size}'"),
        out("==> azure-arm: Deploying deployment template ..."),
        out("==> azure-arm: Waiting for SSH to become available..."),
        out("==> azure-arm: Connected to SSH!"),
    ]


def success_tail(template: dict[str, Any]) -> list[str]:
    return [
        "(telemetry) Starting provisioner shell",
        out("==> azure-arm: Provisioning with shell script: /tmp/packer-shell-deprovision"),
        out("    azure-arm: + /usr/sbin/waagent -force -deprovision+user && export HISTSIZE=0 && sync"),
        "(telemetry) ending shell",
        out("==> azure-arm: Querying the machine's properties ..."),
        out("==> azure-arm: Capturing image ..."),
        out("==> azure-arm: Deleting individual resources ..."),
        "(telemetry) Finalizing. - This means the build is done",
        out("Build 'azure-arm' finished after 4 minutes 2 seconds."),
        out("==> Builds finished. The artifacts of successful builds are:"),
    ]


def failure_tail(error: str) -> list[str]:
    return [
        out("==> azure-arm: Provisioning step had errors: Running the cleanup provisioner, if present..."),
        out("==> azure-arm: Deleting individual resources ..."),
        err(f"Build 'azure-arm' errored after 3 minutes 11 seconds: {error}"),
        err("==> Some builds didn't complete successfully and had errors:"),
        err(f"--> azure-arm: {error}"),
        err("==> Builds finished but no artifacts were created."),
        "(telemetry) Finalizing. - This means the build is done",
    ]
