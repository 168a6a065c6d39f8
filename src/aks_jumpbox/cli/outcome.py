"""How a build's result reads: success with the image, or the failing step and the lines that say why."""

from __future__ import annotations

from typing import Any

from aks_jumpbox.cli.present import esc

# Lines of each log shown when a failed build's logs name no failing step and no Packer error.
UNRECOGNISED_TAIL = 25


def unrecognised_tail(report: Any, logs: Any, n: int = UNRECOGNISED_TAIL) -> dict[str, list[str]]:
    """The last lines of each log (validation.log first) when the report found nothing to point at:
    a failure the step markers and Packer's error lines do not explain still shows what the build said."""
    from aks_jumpbox.core.buildlog import tail

    if report is not None and (report.relevant or report.failed_step or report.failed_checks):
        return {}
    texts = getattr(logs, "texts", None) or {}
    order = sorted(texts, key=lambda name: (name != "validation.log", name))
    return {name: lines for name in order if (lines := tail(texts[name], n))}


def show_logs(con: Any, report: Any, logs: Any, log_error: str | None = None, *, failed: bool = False) -> None:
    """What the logs say about a build; `failed`: the run failed, so logs that name no failing step
    still show their last lines."""
    if report is not None and report.failed_step:
        why = f": {esc(report.reason)}" if report.reason else ""
        con.print(f"[bold red]failing step:[/] [bold]{esc(report.failed_step)}[/]{why}")
    for check in (report.failed_checks if report is not None else [])[:20]:
        con.print(f"  [red]check failed:[/] {esc(check)}")
    if report is not None and report.relevant:
        con.print("[dim]--- relevant log lines ---[/]")
        for line in report.relevant:
            con.print(esc(line), soft_wrap=True)
        con.print("[dim]---[/]")
    elif failed:
        for name, lines in unrecognised_tail(report, logs).items():
            con.print(f"[yellow]no failing step recognised[/]; the last lines of {esc(name)}:")
            for line in lines:
                con.print(f"  {esc(line)}", soft_wrap=True)
    if logs is not None:
        for name, url in logs.blob_urls.items():
            con.print(f"log: {esc(name)} at {esc(url)} (read with {esc(logs.auth)})", soft_wrap=True)
    elif log_error:
        con.print(f"[yellow]could not read the build logs:[/] {esc(log_error)}")
    else:
        con.print("[yellow]no build logs yet:[/] Image Builder has not created its staging storage account")


def show_outcome(con: Any, outcome: Any, hint_logs: str) -> None:
    run = outcome.run
    if outcome.decision.action == "skip":
        con.print(
            f"[green]up to date:[/] image {esc(outcome.image_id)} exists, built by template "
            f"{esc(outcome.template)}. "
            "Use --force to build it again.",
            soft_wrap=True,
        )
        return
    if run is None:
        return
    if run.active:
        con.print(f"build of {esc(outcome.template)} is {esc(run.label())}")
        return
    if run.succeeded:
        con.print(f"[bold green]build succeeded[/]: image {esc(outcome.image_id)}", soft_wrap=True)
    else:
        message = (run.message or "").strip()
        con.print(
            f"[bold red]build {esc(run.state)}[/]"
            + (f" in phase {esc(run.sub_state)}" if run.sub_state else "")
            + f" for template {esc(outcome.template)}"
        )
        if message:
            con.print(f"  Image Builder says: {esc(message[:1000])}", soft_wrap=True)
        show_logs(con, outcome.report, outcome.logs, outcome.log_error, failed=True)
        con.print(f"[dim]read the whole log with `{esc(hint_logs)} --full`[/]", soft_wrap=True)
    if outcome.image_role_removed:
        con.print("removed the image-writer role assignment (just-in-time permission); the next build re-adds it")
