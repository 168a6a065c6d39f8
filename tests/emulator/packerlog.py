"""Realistic Packer logs for Image Builder runs (customization.log, validation.log).

What each customizer prints comes from a callable ``output(template, step, index) -> lines`` so that a
test can feed the real output of the product's provision script (its step markers included). The
default echoes inline commands and names downloaded scripts. A ``StepFailure`` cuts a step's output after
the first line matching ``at`` and appends its stderr and Packer's error lines.

The shape follows the excerpts of
https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-troubleshoot ("Stages of the
customization log", "Windows restart continually fails with error code 1190"): every line starts with the
run's ID in brackets, then ``PACKER OUT`` (Packer's standard output) or ``PACKER ERR`` (its standard error,
where Packer's own debug log goes: Azure request traces, ``[INFO]`` lines, telemetry, and some progress
messages such as "Deleting individual resources ..."). ``PACKER ERR`` therefore is not an error marker;
Packer's real errors are its ``Build '…' errored``, ``machine readable: …,error``, ``--> azure-arm: …`` and
the shell provisioner's ``Script exited with non-zero exit status`` lines, on either stream.
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


def out(text: str, run_id: str = "") -> str:
    return f"[{run_id or '-'}] PACKER OUT {text}"


def err(text: str, run_id: str = "") -> str:
    return f"[{run_id or '-'}] PACKER ERR {text}"


def debug(text: str, run_id: str = "") -> str:
    """Packer's debug log on standard error, with Go's log timestamp (twice, as the plugin relays it)."""
    return err(f"{_ts()} packer-plugin-azure plugin: {_ts()} {text}", run_id)


def azure_request(method: str, path: str, run_id: str = "") -> str:
    return debug(
        f'Azure request method="{method}" request="https://management.azure.com{path}?[REDACTED]" body=""', run_id
    )


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
    template: dict[str, Any],
    items: list[dict[str, Any]],
    output: StepOutput,
    failure: StepFailure | None,
    run_id: str = "",
) -> StepsLog:
    """Log lines for running ``items`` (customizers or in-VM validations) in order."""
    log = StepsLog()
    o = lambda text: out(text, run_id)  # noqa: E731
    e = lambda text: err(text, run_id)  # noqa: E731
    names = [s.get("name") or f"step{i}" for i, s in enumerate(items)]
    outputs = [[str(x) for x in output(template, step, i)] for i, step in enumerate(items)]
    target = _failing_index(names, outputs, failure) if failure is not None else None
    for i, step in enumerate(items):
        provisioner, header = _provisioner(step, i)
        log.lines.append(e(f"{_ts()} [INFO] (telemetry) Starting provisioner {provisioner}"))
        log.lines.append(o(header))
        log.lines.append(
            debug(
                f"[INFO] starting remote command: chmod +x /tmp/script_{1000 + i}.sh; /tmp/script_{1000 + i}.sh", run_id
            )
        )
        produced = outputs[i]
        if i == target and failure is not None and failure.at:
            hit = next((k for k, line in enumerate(produced) if re.search(failure.at, line)), None)
            if hit is not None:
                produced = produced[: hit + 1]
        for n, line in enumerate(produced):
            log.lines.append(o(f"    azure-arm: {line}"))
            if n % 3 == 2:  # the plugin's debug output interleaves with the step's own
                log.lines.append(debug("[INFO] RPC client: Communicator ended with: 0", run_id))
        if i == target and failure is not None:
            log.lines += [e(f"    azure-arm: {line}") for line in failure.stderr]
            log.lines.append(debug(f"[INFO] RPC endpoint: Communicator ended with: {failure.exit_code}", run_id))
            log.error = f"Script exited with non-zero exit status: {failure.exit_code}. Allowed exit codes are: [0]"
            log.lines.append(e(f"==> azure-arm: {log.error}"))
            log.lines.append(e(f"{_ts()} [INFO] (telemetry) ending {provisioner}"))
            log.failed_step = names[i]
            return log
        log.lines.append(debug(f"[INFO] {len(produced) * 40} bytes written for 'stdout'", run_id))
        log.lines.append(e(f"{_ts()} [INFO] (telemetry) ending {provisioner}"))
    return log


def preamble(template: dict[str, Any], run_id: str) -> list[str]:
    src = template.get("properties", {}).get("source", {})
    image = (
        ":".join(str(src.get(k, "")) for k in ("publisher", "offer", "sku", "version"))
        if src.get("type") == "PlatformImage"
        else src.get("imageId") or src.get("imageVersionId")
    )
    size = template.get("properties", {}).get("vmProfile", {}).get("vmSize") or "Standard_D2ds_v4"
    staging = f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/IT_staging_{run_id[:8]}"
    o = lambda text: out(text, run_id)  # noqa: E731
    return [
        f"[{run_id}] Build ID: {run_id}",
        o("Packer v1.11.2 [go1.22.5 linux amd64]"),
        err(f"{_ts()} [INFO] (telemetry) Starting builder azure-arm", run_id),
        o("==> azure-arm: Running builder ..."),
        o("==> azure-arm: Getting tokens using Managed Identity for Azure"),
        o(f"==> azure-arm:  -> Source image           : '{image}'"),
        o(f"==> azure-arm:  -> VM size                : '{size}'"),
        azure_request("PUT", f"{staging}/providers/Microsoft.Resources/deployments/pkrdp{run_id[:10]}", run_id),
        o("==> azure-arm: Deploying deployment template ..."),
        azure_request(
            "GET",
            f"{staging}/providers/Microsoft.Resources/deployments/pkrdp{run_id[:10]}/"
            "operationStatuses/08586133176207523519",
            run_id,
        ),
        o("==> azure-arm: Waiting for SSH to become available..."),
        debug("[INFO] Waiting for SSH, up to timeout: 20m0s", run_id),
        o("==> azure-arm: Connected to SSH!"),
    ]


def _cleanup(run_id: str) -> list[str]:
    """TROUBLESHOOT "Stages of the customization log", clean up: progress and request traces on ERR."""
    staging = f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/IT_staging_{run_id[:8]}"
    return [
        err("==> azure-arm: Deleting individual resources ...", run_id),
        azure_request("DELETE", f"{staging}/providers/Microsoft.Network/networkInterfaces/pkrni{run_id[:10]}", run_id),
        err("==> azure-arm: The resource group was not created by Packer, not deleting ...", run_id),
    ]


def success_tail(template: dict[str, Any], run_id: str = "") -> list[str]:
    o = lambda text: out(text, run_id)  # noqa: E731
    return [
        err(f"{_ts()} [INFO] (telemetry) Starting provisioner shell", run_id),
        o("==> azure-arm: Provisioning with shell script: /tmp/DeprovisioningScript.sh"),
        o("    azure-arm: + /usr/sbin/waagent -force -deprovision+user && export HISTSIZE=0 && sync"),
        err(f"{_ts()} [INFO] (telemetry) ending shell", run_id),
        o("==> azure-arm: Querying the machine's properties ..."),
        o("==> azure-arm: Capturing image ..."),
        *_cleanup(run_id),
        o("Build 'azure-arm' finished after 4 minutes 2 seconds."),
        o("==> Builds finished. The artifacts of successful builds are:"),
        err(f"{_ts()} [INFO] (telemetry) Finalizing.", run_id),
    ]


def failure_tail(error: str, run_id: str = "") -> list[str]:
    """Packer's real error lines, on both streams as in TROUBLESHOOT's error-code-1190 excerpt."""
    o = lambda text: out(text, run_id)  # noqa: E731
    return [
        o("==> azure-arm: Provisioning step had errors: Running the cleanup provisioner, if present..."),
        *_cleanup(run_id),
        err(f"Build 'azure-arm' errored after 3 minutes 11 seconds: {error}", run_id),
        o("==> Some builds didn't complete successfully and had errors:"),
        err(f'{_ts()} machine readable: azure-arm,error []string{{"{error}"}}', run_id),
        o(f"--> azure-arm: {error}"),
        err("==> Builds finished but no artifacts were created.", run_id),
        err(f"{_ts()} [INFO] (telemetry) Finalizing.", run_id),
    ]
