"""`aks-jumpbox deploy`: create or update the plan's Azure resources (or show what would change)."""

from __future__ import annotations

import click

from aks_jumpbox.cli.azure_common import azure_options, connect, json_errors, load_plan, plan_options
from aks_jumpbox.cli.footprint import warn_foreign
from aks_jumpbox.cli.present import EXIT_CHANGES, EXIT_FAILED, console, emit_json, esc, output_option

_STYLE = {"Create": "green", "Delete": "red", "Modify": "yellow", "Deploy": "yellow", "Unsupported": "bold red"}
_STYLE.update({"NoChange": "dim", "Ignore": "dim", "NoEffect": "dim"})


@click.command("deploy")
@plan_options
@azure_options
@click.option("--what-if", "what_if", is_flag=True, help="Read live state and show what would change; write nothing.")
@click.option(
    "--exit-code",
    "exit_code",
    is_flag=True,
    help=f"With --what-if: exit {EXIT_CHANGES} when deploy would change something, 0 when nothing "
    f"(like `git diff --exit-code`); {EXIT_FAILED} on a conflict or failure either way.",
)
@output_option
@json_errors
def command(
    spec_path: str | None,
    lock_path: str | None,
    keep_on_error: bool,
    azure_args,
    what_if: bool,
    exit_code: bool,
    output: str,
) -> None:
    """Deploy custom roles, identity, role assignments and the image template, in dependency order.

    Idempotent: only what is missing or differs is written. Image templates are immutable; a changed
    spec gets a new template (named by its content), an unchanged one is left alone.

    --what-if shows, per resource, what deploy would do and, per property path, the live value (-)
    and the planned one (+); role definitions and assignments by role name, principal and scope.
    """
    from aks_jumpbox.azure import apply as ap
    from aks_jumpbox.azure.footprint import survey
    from aks_jumpbox.cli.progress import Presenter

    if exit_code and not what_if:
        raise click.UsageError("--exit-code reports what --what-if found: add --what-if, or drop --exit-code.")
    _, plan = load_plan(spec_path, lock_path, keep_on_error)
    with connect(plan, azure_args) as az:
        changes = ap.what_if(az, plan)
        # Other specs' resources: never written; planned ones among them are this run's conflicts.
        found = survey(az, plan)
        found.foreign = [f for f in found.foreign if not f.planned]
        warn_foreign(found.lines())
        foreign = [f.to_json() for f in found.foreign]
        if what_if:
            show_what_if(plan, changes, output, exit_code=exit_code, foreign=foreign)
            return
        presenter = Presenter(output)
        done = ap.apply(az, plan, changes, on_change=presenter.deployed, on_note=presenter.note)
    if output == "json":
        emit_json(
            {
                "whatIf": False,
                "template": plan.names.template,
                "changes": [c.to_json() for c in changes],
                "written": [c.resource.key for c in done],
                "foreign": foreign,
            }
        )
    elif not done:
        console().print("nothing to do: every resource matches the plan")
    else:
        console().print(f"deployed {len(done)} of {len(changes)} resources; template {esc(plan.names.template)}")


def show_what_if(plan, changes, output: str, *, exit_code: bool = False, foreign: list[dict] | None = None) -> None:
    """Print what-if's result; exit 1 on a conflict, EXIT_CHANGES with `exit_code` when deploy would write."""
    from aks_jumpbox.report.whatif import what_if_result

    result = what_if_result(plan, changes)
    if output == "json":
        emit_json(
            {
                "whatIf": True,
                "status": "Succeeded",
                "template": plan.names.template,
                "changed": result.changed,
                "counts": result.counts(),
                "changes": [{**c.to_json(), **rc.to_json()} for c, rc in zip(changes, result.changes, strict=True)],
                "foreign": foreign or [],
            }
        )
    else:
        show_changes(plan, result)
    if result.conflict:
        raise click.exceptions.Exit(EXIT_FAILED)
    if exit_code and result.changed:
        raise click.exceptions.Exit(EXIT_CHANGES)


def show_changes(plan, result) -> None:
    from rich.text import Text

    from aks_jumpbox.cli.annotations import defuse
    from aks_jumpbox.cli.present import printable
    from aks_jumpbox.report.whatif import render_line, text_lines

    con = console()
    for line in text_lines(plan, result):
        # Live values come from Azure: under GitHub Actions none may read as a workflow command.
        shown = defuse(printable(render_line(line)))
        con.print(Text(shown, style=_STYLE.get(line.kind, "")), soft_wrap=True)
