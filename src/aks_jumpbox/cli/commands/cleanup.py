"""`aks-jumpbox cleanup`: delete what deploy created (never the images built)."""

from __future__ import annotations

import sys

import click

from aks_jumpbox.cli.azure_common import azure_options, connect, json_errors, load_plan, plan_options
from aks_jumpbox.cli.footprint import warn_foreign
from aks_jumpbox.cli.present import console, emit_json, esc, output_option
from aks_jumpbox.core.errors import UserError


@click.command("cleanup")
@plan_options
@azure_options
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
@output_option
@json_errors
def command(
    spec_path: str | None, lock_path: str | None, keep_on_error: bool, azure_args, yes: bool, dry_run: bool, output: str
) -> None:
    """Remove the role assignments, image templates (and so their staging groups), the identity and
    the custom roles of this spec. Images already built are kept. The plan is shown first.

    Only this spec's resources (by its aks-jumpbox.spec tag, or for roles and role assignments by
    their names): other specs' resources and untagged look-alikes are warned about and left alone."""
    from aks_jumpbox.azure import cleanup

    _, plan = load_plan(spec_path, lock_path, keep_on_error)
    con = console(stderr=output == "json")
    with connect(plan, azure_args) as az:
        found = cleanup.cleanup_plan(az, plan)
        deletions, present = found.deletions, found.present
        foreign = [f.to_json() for f in found.foreign]
        _show(con, deletions, plan.names.spec)
        warn_foreign(found.warnings())
        if not present or dry_run:
            if output == "json":
                emit_json(
                    {
                        "deleted": [],
                        "wouldDelete": [d.to_json() for d in present],
                        "dryRun": dry_run,
                        "foreign": foreign,
                    }
                )
            elif not present:
                con.print(f"nothing to clean up of spec {esc(plan.names.spec)}")
            return
        if not yes:
            if not sys.stdin.isatty():
                raise UserError(
                    "cleanup needs confirmation and there is no terminal to ask on.",
                    fix="Pass --yes to delete without asking (or --dry-run to only look).",
                )
            click.confirm(f"delete these {len(present)} resources?", abort=True, err=True)
        deleted = []

        def done(d) -> None:
            deleted.append(d)
            con.print(f"  deleted {esc(d.kind)} {esc(d.name)}")

        cleanup.execute(az, deletions, on_done=done)
    if output == "json":
        emit_json(
            {
                "deleted": [d.to_json() for d in deleted],
                "kept": "images are never deleted by cleanup",
                "foreign": foreign,
            }
        )
    else:
        con.print(f"cleaned up {len(deleted)} resources; the images built are kept")


def _show(con, deletions, key: str) -> None:
    from rich.table import Table

    title = f"cleanup plan of spec {esc(key)} (images are kept)"
    table = Table(box=None, pad_edge=False, title=title, title_justify="left")
    for col in ("", "kind", "name", "note"):
        table.add_column(col)
    for d in deletions:
        table.add_row("[red]delete[/]" if d.exists else "[dim]absent[/]", esc(d.kind), esc(d.name), esc(d.note or ""))
    con.print(table)
