"""`aks-jumpbox check`: preflight the network, region, providers and permissions before a build."""

from __future__ import annotations

import click

from aks_jumpbox.cli.azure_common import azure_options, connect, load_plan, plan_options
from aks_jumpbox.cli.footprint import warn_foreign
from aks_jumpbox.cli.present import console, emit_json, esc, output_option

_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}


@click.command("check")
@plan_options
@azure_options
@click.option(
    "--snapshot",
    "snapshot",
    type=click.Path(),
    default=None,
    metavar="DIR",
    help="Check offline against a folder of ARM JSON documents (as `aks-jumpbox snapshot` writes); "
    "default: read live Azure.",
)
@output_option
def command(
    spec_path: str | None, lock_path: str | None, keep_on_error: bool, azure_args, snapshot: str | None, output: str
) -> None:
    """Prove what a build needs before it starts: NSG flows, firewall egress, subnets, region,
    resource providers, role assignments and your permissions, the source image and the template.

    Exit 0 when nothing fails (warnings allowed), 1 when a check fails, 2 for bad input.
    """
    from aks_jumpbox.preflight.checks import run_checks

    _, plan = load_plan(spec_path, lock_path, keep_on_error, offline=snapshot is not None)
    foreign: list[dict] | None = None  # read live only
    if snapshot is not None:
        from aks_jumpbox.preflight.snapshot import load_snapshot

        report = run_checks(plan, load_snapshot(snapshot))
    else:
        from aks_jumpbox.azure.footprint import survey
        from aks_jumpbox.azure.preflight import LiveSource

        with connect(plan, azure_args) as az:
            report = run_checks(plan, LiveSource(az))
            found = survey(az, plan)  # other specs' resources: warned about, never checked or counted
        warn_foreign(found.lines())
        foreign = [f.to_json() for f in found.foreign]
    if output == "json":
        emit_json(report.to_json() if foreign is None else {**report.to_json(), "foreign": foreign})
    else:
        show_report(report)
    if not report.ok:
        raise click.exceptions.Exit(1)


def show_report(report) -> None:
    from rich.table import Table

    table = Table(title=f"Preflight against {esc(report.source)}", title_justify="left", show_lines=True, expand=True)
    table.add_column("status", no_wrap=True)
    table.add_column("check", ratio=3)
    table.add_column("evidence", ratio=3)
    table.add_column("fix", ratio=2)
    # Problems first; within a status, the order the checks ran in.
    order = {"fail": 0, "warn": 1, "skip": 2, "pass": 3}
    for f in sorted(report.checks, key=lambda f: order[str(f.status)]):
        status = str(f.status)
        table.add_row(
            f"[{_STYLE[status]}]{status}[/]",
            f"[bold]{esc(f.id)}[/]\n{esc(f.message)}",
            esc(f.evidence),
            esc(f.fix or ""),
        )
    con = console()
    con.print(table)
    # Fixes again, one per line and unwrapped, so a command can be copied whole.
    todo = [f for f in report.checks if f.fix and str(f.status) in ("fail", "warn")]
    if todo:
        con.print("[bold]To fix:[/]")
        for f in todo:
            con.print(f"  [{_STYLE[str(f.status)]}]{esc(f.id)}[/]: {esc(f.fix or '')}", soft_wrap=True)
    for note in report.notes:
        con.print(f"[dim]note:[/] {esc(note)}")
    style = "green" if report.ok else "bold red"
    con.print(f"[{style}]{esc(report.summary())}[/]")
