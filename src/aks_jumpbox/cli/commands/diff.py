"""`aks-jumpbox diff A B`: what changed between two images' software reports."""

from __future__ import annotations

import click

from aks_jumpbox.cli.present import emit_json


@click.command("diff")
@click.argument("before", type=click.Path())
@click.argument("after", type=click.Path())
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text for people, markdown for release notes, json for machines.",
)
@click.option("--exit-code", is_flag=True, help="Exit 1 when the reports differ (as `git diff --exit-code`).")
def command(before: str, after: str, output: str, exit_code: bool) -> None:
    """Compare two software reports (software-report.json files, or the folders holding them)."""
    from aks_jumpbox.report.diff import diff_reports, diff_text, load_report

    a, label_a = load_report(before)
    b, label_b = load_report(after)
    result = diff_reports(a, b, label_a, label_b)
    if output == "json":
        emit_json(result.to_json())
    else:
        click.echo(diff_text(result, markdown=output == "markdown"), nl=False)
    if exit_code and not result.empty:
        raise click.exceptions.Exit(1)
