"""`aks-jumpbox deploy`: create or update the plan's Azure resources (or show what would change)."""

from __future__ import annotations

import click

from aks_jumpbox.cli.azure_common import azure_options, connect, json_errors, load_plan, plan_options
from aks_jumpbox.cli.footprint import warn_foreign
from aks_jumpbox.cli.present import console, emit_json, esc, output_option


@click.command("deploy")
@plan_options
@azure_options
@click.option("--what-if", "what_if", is_flag=True, help="Read live state and show what would change; write nothing.")
@output_option
@json_errors
def command(
    spec_path: str | None, lock_path: str | None, keep_on_error: bool, azure_args, what_if: bool, output: str
) -> None:
    """Deploy custom roles, identity, role assignments and the image template, in dependency order.

    Idempotent: only what is missing or differs is written. Image templates are immutable; a changed
    spec gets a new template (named by its content), an unchanged one is left alone.
    """
    from aks_jumpbox.azure import apply as ap
    from aks_jumpbox.azure.footprint import survey
    from aks_jumpbox.cli.progress import Presenter

    _, plan = load_plan(spec_path, lock_path, keep_on_error)
    with connect(plan, azure_args) as az:
        changes = ap.what_if(az, plan)
        # Other specs' resources: never written; planned ones among them are this run's conflicts.
        found = survey(az, plan)
        found.foreign = [f for f in found.foreign if not f.planned]
        warn_foreign(found.lines())
        foreign = [f.to_json() for f in found.foreign]
        if what_if:
            if output == "json":
                emit_json(
                    {
                        "whatIf": True,
                        "template": plan.names.template,
                        "changes": [c.to_json() for c in changes],
                        "foreign": foreign,
                    }
                )
            else:
                show_changes(changes)
            if any(c.action == "conflict" for c in changes):
                raise click.exceptions.Exit(1)
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


def show_changes(changes) -> None:
    from rich.table import Table

    from aks_jumpbox.cli.progress import ACTION_STYLE

    table = Table(box=None, pad_edge=False, title="What deploy would do", title_justify="left")
    for col in ("action", "type", "name"):
        table.add_column(col)
    for c in changes:
        style = ACTION_STYLE.get(c.action, "")
        table.add_row(f"[{style}]{esc(c.action)}[/]", esc(c.resource.type), esc(c.resource.name))
    con = console()
    con.print(table)
    for c in changes:
        if c.differences or c.note:
            con.print(f"[bold]{esc(c.resource.name)}[/] ({esc(c.resource.type)}):")
            if c.note:
                con.print(f"  {esc(c.note)}")
            for d in c.differences[:20]:
                con.print(f"  {esc(d.describe())}")
    counts = {a: sum(1 for c in changes if c.action == a) for a in dict.fromkeys(c.action for c in changes)}
    con.print(esc(", ".join(f"{n} {a}" for a, n in counts.items())))
