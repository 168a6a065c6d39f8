"""`aks-jumpbox outdated`: every pin against its newest upstream release, plus lifecycle warnings."""

from __future__ import annotations

import datetime as dt

import click

from aks_jumpbox.cli.context import resolve_inputs
from aks_jumpbox.cli.present import (
    EXIT_SIGN_IN,
    console,
    emit_json,
    esc,
    feed_option,
    lock_option,
    output_option,
    spec_option,
)


@click.command("outdated")
@spec_option
@lock_option
@feed_option
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    metavar="DATE",
    help="Judge support ends and review dates as of DATE (YYYY-MM-DD). Default: today.",
)
@click.option("--exit-code", is_flag=True, help="Exit 1 when a pin is outdated or flagged (for scheduled CI).")
@output_option
def command(
    spec_path: str | None,
    lock_path: str | None,
    feed: str | None,
    as_of: dt.datetime | None,
    exit_code: bool,
    output: str,
) -> None:
    """List each pin (tools, Azure CLI, base image) with the newest upstream release.

    Flags deprecated tools, base images near or past end of standard support, pins whose
    review_by date has passed and Azure api-versions being retired. Pre-releases, drafts and
    releases missing this tool's artifact are ignored. Exit 1 if a release source could not be read.
    """
    from aks_jumpbox.cli.releases import newest_releases
    from aks_jumpbox.core.outdated import outdated, source_counts
    from aks_jumpbox.core.releases import AZURE_CLI
    from aks_jumpbox.core.spec import azure_facts

    inputs = resolve_inputs(spec_path, lock_path)
    spec, catalog = inputs.spec, inputs.catalog
    today = as_of.date() if as_of else dt.date.today()
    newest = newest_releases([*sorted(spec.tools), AZURE_CLI], catalog, spec.architecture, feed)
    rows = outdated(spec, inputs.lock, catalog, azure_facts(), newest, today)
    sources = source_counts(newest)
    if output == "json":
        emit_json(
            {
                "schema": "aks-jumpbox/outdated/v1",
                "asOf": today.isoformat(),
                "feed": feed,
                "sources": sources.to_json(),
                "pins": [r.to_json() for r in rows],
            }
        )
    else:
        _table(rows, today, sources, feed)
    if sources.unreachable and sources.unreachable == sources.total:
        raise click.exceptions.Exit(EXIT_SIGN_IN)  # no network at all: the environment, as EXIT_CODES says
    if any(f.kind == "source-error" for r in rows for f in r.flags):
        raise click.exceptions.Exit(1)
    if exit_code and any(r.status in ("outdated", "retiring") or r.flags for r in rows):
        raise click.exceptions.Exit(1)


def _table(rows, today: dt.date, sources, feed: str | None) -> None:
    from rich.table import Table

    con = console()
    table = Table(title=f"Pins as of {today}", title_justify="left", box=None, pad_edge=False)
    for col in ("kind", "name", "pinned", "newest", "status"):
        table.add_column(col)
    style = {"outdated": "yellow", "unknown": "red", "retiring": "red", "current": "green"}
    for r in rows:
        table.add_row(
            esc(r.kind), esc(r.name), esc(r.pinned), esc(r.newest or "?"), f"[{style[r.status]}]{esc(r.status)}[/]"
        )
    con.print(table)
    first_down = sources.first_unreachable
    for r in rows:
        for f in r.flags:
            if f.kind == "source-error" and first_down is not None:
                continue  # no network: said once below, not once per source
            con.print(f"[yellow]{esc(f.kind)}:[/] {esc(r.name)}: {esc(f.message)}")
    behind = sum(r.status == "outdated" for r in rows)
    if sources.unknown:
        read = sources.total - sources.unknown
        tail = f"; {behind} of the {read} pins read are behind" if read else ""
        con.print(f"[red]unknown:[/] {esc(sources.summary())}{tail}", soft_wrap=True)
        if first_down is not None:
            from aks_jumpbox.cli.releases import offline_fix

            con.print(
                f"no network: {esc(first_down.error or first_down.unreachable or '')}. "
                f"{esc(offline_fix(first_down.unreachable or '', command='outdated', feed=feed))}",
                soft_wrap=True,
            )
    elif not behind:
        con.print("no pin is behind its newest release")
