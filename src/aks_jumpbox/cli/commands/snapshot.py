"""`aks-jumpbox snapshot`: write what preflight reads from Azure as a folder of ARM JSON documents."""

from __future__ import annotations

import click

from aks_jumpbox.cli.azure_common import azure_options, connect, load_plan, plan_options
from aks_jumpbox.cli.present import console, emit_json, esc, output_option


@click.command("snapshot")
@plan_options
@azure_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    required=True,
    metavar="DIR",
    help="The folder to write (new or empty; see --replace).",
)
@click.option("--replace", is_flag=True, help="Delete the folder's *.json files first.")
@output_option
def command(
    spec_path: str | None,
    lock_path: str | None,
    keep_on_error: bool,
    azure_args,
    out_dir: str,
    replace: bool,
    output: str,
) -> None:
    """Read from Azure everything `check` needs and write it to DIR, one ARM JSON document per file.

    A network team can review the folder or attach it to a ticket; `aks-jumpbox check --snapshot DIR`
    reads it back offline with the same result as a live check.
    """
    from aks_jumpbox.azure.preflight import LiveSource
    from aks_jumpbox.preflight.checks import run_checks
    from aks_jumpbox.preflight.snapshot import write_snapshot
    from aks_jumpbox.preflight.source import Lookups

    _, plan = load_plan(spec_path, lock_path, keep_on_error)
    with connect(plan, azure_args) as az:
        lookups = Lookups(LiveSource(az))
        report = run_checks(plan, lookups)
    written = write_snapshot(lookups.answers.values(), out_dir, replace=replace)
    if output == "json":
        emit_json({"out": out_dir, "files": [p.name for p in written], "ok": report.ok})
    else:
        console().print(
            f"wrote {len(written)} documents to {esc(out_dir)}/ ({esc(report.summary())}); "
            f"check them offline with `aks-jumpbox check --snapshot {esc(out_dir)}`",
            soft_wrap=True,
        )
