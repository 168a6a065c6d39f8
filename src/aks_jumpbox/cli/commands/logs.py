"""`aks-jumpbox logs`: fetch the build logs from the staging storage account and name the failing step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from aks_jumpbox.cli.azure_common import azure_options, connect, json_errors, load_plan, plan_options
from aks_jumpbox.cli.commands.status import template_option
from aks_jumpbox.cli.present import console, emit_json, esc, output_option


@click.command("logs")
@plan_options
@azure_options
@template_option
@click.option("--full", is_flag=True, help="Print the whole customization.log (and validation.log).")
@click.option(
    "--save",
    "save_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Also write the logs into this directory.",
)
@output_option
@json_errors
def command(
    spec_path: str | None,
    lock_path: str | None,
    keep_on_error: bool,
    azure_args,
    template_name: str | None,
    full: bool,
    save_dir: str | None,
    output: str,
) -> None:
    """Download customization.log and validation.log of the last build and show what failed.

    Reads with Azure AD first; falls back to a storage account key only when that is denied and
    you may list the account's keys. Keys are never printed.
    """
    from aks_jumpbox.azure.pipeline import fetch_logs, template_of
    from aks_jumpbox.cli.outcome import show_logs
    from aks_jumpbox.core.errors import OperationFailed
    from aks_jumpbox.core.runs import RunStatus

    _, plan = load_plan(spec_path, lock_path, keep_on_error)
    with connect(plan, azure_args) as az:
        template = template_of(az, plan, template_name)
        live = template.require()
        logs, report = fetch_logs(az, template, live)
    run = RunStatus.from_template(live)
    if logs is None:
        raise OperationFailed(
            f"no build logs for template {template.name}: Image Builder has not created its "
            "staging storage account (has it run? `aks-jumpbox status`)"
        )
    if not logs.texts:
        # Logs reach packerlogs only when a build ends; an earlier run's are not this run's.
        if not run.active:
            raise OperationFailed(
                f"no build logs of the last run of template {template.name} (started "
                f"{run.start_time or '?'}) in packerlogs of {logs.account}"
            )
        waiting = (
            f"the build of {template.name} is {run.label()}: Image Builder writes its logs to "
            "packerlogs when it ends; follow its live output with `aks-jumpbox watch`"
        )
        if output == "json":
            emit_json({**_document(template.name, run, logs, None), "runFolder": None, "blobs": {}, "note": waiting})
        else:
            console().print(esc(waiting))
        return
    if save_dir:
        from aks_jumpbox.adapters.files import write_all

        write_all(Path(save_dir), logs.texts)
    if output == "json":
        emit_json({**_document(template.name, run, logs, report), **({"texts": logs.texts} if full else {})})
        return
    con = console()
    con.print(f"template {esc(template.name)}: last run {esc(run.label())}")
    if full:
        for name, text in logs.texts.items():
            con.print(f"[bold]=== {esc(name)} ===[/]")
            con.print(esc(text), soft_wrap=True)
    if report is not None and not report.failed_step and not report.failed_checks:
        steps = ", ".join(s.name for s in report.steps) or "none yet"
        con.print(f"no step failed (steps seen: {esc(steps)})")
    show_logs(con, report, logs, failed=not (run.succeeded or run.active or full))


def _document(template: str, run: Any, logs: Any, report: Any) -> dict[str, Any]:
    """The `logs -o json` document: where the logs are and, from the report, what failed."""
    return {
        "template": template,
        "run": run.to_json(),
        "stagingResourceGroup": logs.staging_resource_group,
        "account": logs.account,
        "auth": logs.auth,
        "runFolder": logs.run_folder,
        "blobs": logs.blob_urls,
        "failedStep": report.failed_step if report else None,
        "reason": report.reason if report else None,
        "failedChecks": report.failed_checks if report else [],
        "relevantLines": report.relevant if report else [],
        "steps": [s.name for s in report.steps] if report else [],
    }
