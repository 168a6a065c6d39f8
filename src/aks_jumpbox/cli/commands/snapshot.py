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
    default=None,
    metavar="DIR",
    help="The folder to write (new or empty; see --replace). Required unless --print-commands.",
)
@click.option("--replace", is_flag=True, help="Delete the folder's *.json files first.")
@click.option(
    "--print-commands",
    is_flag=True,
    help="Do not read Azure: print a shell script of `az` commands, with this spec's IDs, that writes the same "
    "documents (for a team that will not run aks-jumpbox).",
)
@output_option
def command(
    spec_path: str | None,
    lock_path: str | None,
    keep_on_error: bool,
    azure_args,
    out_dir: str | None,
    replace: bool,
    print_commands: bool,
    output: str,
) -> None:
    """Read from Azure everything `check` needs and write it to DIR, one ARM JSON document per file.

    A network team can review the folder or attach it to a ticket; `aks-jumpbox check --snapshot DIR`
    reads it back offline with the same result as a live check.

    With --print-commands nothing is read: the `az` commands that fetch the same documents are printed
    (`aks-jumpbox snapshot --print-commands > fetch-snapshot.sh`), for whoever can read the network.
    """
    if print_commands:
        _print_commands(spec_path, lock_path, keep_on_error, out_dir)
        return
    if out_dir is None:
        raise click.UsageError("Missing option '--out' (or pass --print-commands).")
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


def _print_commands(spec_path: str | None, lock_path: str | None, keep_on_error: bool, out_dir: str | None) -> None:
    from aks_jumpbox.core.errors import UserError
    from aks_jumpbox.preflight.fetchcommands import fetch_script

    if out_dir is not None:
        raise UserError(
            "--out and --print-commands do not go together: the printed script writes the folder.",
            fix="Drop --out, and run the script in the folder to fill.",
        )
    inputs, plan = load_plan(spec_path, lock_path, keep_on_error)
    click.echo(fetch_script(plan, inputs.spec_label), nl=False)
