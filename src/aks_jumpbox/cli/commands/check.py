"""`aks-jumpbox check`: preflight the network, region, providers and permissions before a build.

A terminal gets a table. Anything else (a pipe, a CI log; or CI=true) gets one line per check,
`STATUS id evidence`, the fixes, and a summary line with the counts: at 80 columns a wrapped 4-column
table is unreadable in a build log. Under GitHub Actions each failure and warning is also an annotation.
"""

from __future__ import annotations

import os
import sys

import click

from aks_jumpbox.cli.azure_common import azure_options, connect, load_plan, plan_options
from aks_jumpbox.cli.footprint import warn_foreign
from aks_jumpbox.cli.present import console, emit_json, esc, json_output, output_option, printable

_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}
STATUSES = ("fail", "warn", "skip", "pass")  # problems first; within a status, the order the checks ran in
_ON = {"1", "true", "yes", "on"}


def _only(ctx: click.Context, param: click.Parameter, value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    wanted = [v.strip().lower() for v in value.split(",")]
    bad = [v for v in wanted if v not in STATUSES]
    if bad or not any(wanted):
        shown = ", ".join(repr(printable(v)) for v in bad) if bad else "no status"
        raise click.BadParameter(
            f"{shown} {'is not a status' if len(bad) == 1 else 'are not statuses'}: give statuses from "
            f"{', '.join(STATUSES)}, comma-separated (e.g. --only fail,warn)",
            ctx=ctx,
            param=param,
        )
    return frozenset(wanted)


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
@click.option(
    "--only",
    "only",
    default=None,
    metavar="STATUSES",
    callback=_only,
    help="Show only checks of these statuses, comma-separated: fail, warn, skip, pass (e.g. fail,warn). "
    "Counts and the exit code still cover every check.",
)
@click.option(
    "--diagram",
    "diagram",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="PATH",
    help="Also write the network diagram with each flow coloured by its verdict: Markdown when PATH ends in .md, "
    "else Mermaid source.",
)
@output_option
def command(
    spec_path: str | None,
    lock_path: str | None,
    keep_on_error: bool,
    azure_args,
    snapshot: str | None,
    only: frozenset[str] | None,
    diagram: str | None,
    output: str,
) -> None:
    """Prove what a build needs before it starts: NSG flows, firewall egress, subnets, region,
    resource providers, role assignments and your permissions, the source image and the template.

    On a terminal a table; in a pipe or CI (CI=true) one line per check (STATUS id evidence) and a
    summary line with the counts. Exit 0 when nothing fails (warnings allowed), 1 when a check fails,
    2 for bad input, 3 when signing in to Azure fails.
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
    if diagram is not None:
        from aks_jumpbox.render.diagram import write_verdict_diagram

        write_verdict_diagram(diagram, plan, {f.id: str(f.status) for f in report.checks})
    annotate(report)
    if output == "json":
        doc = report_json(report, only)
        emit_json(doc if foreign is None else {**doc, "foreign": foreign})
    elif plain_output():
        for line in plain_lines(report, only):
            click.echo(line)
    else:
        show_report(report, only)
    if not report.ok:
        raise click.exceptions.Exit(1)


def counts(report) -> dict[str, int]:
    c = report.counts()
    return {s: c.get(s, 0) for s in ("pass", "warn", "fail", "skip")}


def report_json(report, only: frozenset[str] | None = None) -> dict:
    doc = report.to_json()
    doc["counts"] = {**counts(report), "total": len(report.checks)}
    if only is not None:
        doc["checks"] = [c for c in doc["checks"] if c["status"] in only]
        doc["only"] = sorted(only, key=STATUSES.index)
    return doc


def plain_output(env=None) -> bool:
    """One line per check when stdout is not a terminal, or in CI (CI=true, as CI services set it)."""
    env = os.environ if env is None else env
    return env.get("CI", "").strip().lower() in _ON or not sys.stdout.isatty()


def _ordered(report, only: frozenset[str] | None):
    for status in STATUSES:
        if only is None or status in only:
            yield from (f for f in report.checks if str(f.status) == status)


def _one_line(text: str) -> str:
    return " ".join(printable(text).split())


def plain_lines(report, only: frozenset[str] | None = None) -> list[str]:
    """`STATUS id evidence` per check, `FIX id: …` per failure or warning with a fix, notes, and the
    summary last. Every value is on one line (newlines and control characters folded or escaped) and
    none can start a GitHub Actions workflow command."""
    from aks_jumpbox.cli.annotations import defuse

    out = []
    for f in _ordered(report, only):
        evidence = _one_line(f.evidence or f.message)
        out.append(f"{str(f.status).upper():<4} {_one_line(f.id)} {evidence}".rstrip())
    for f in _ordered(report, only):
        if f.fix and str(f.status) in ("fail", "warn"):
            out.append(f"FIX  {_one_line(f.id)}: {_one_line(f.fix)}")
    out += [f"NOTE {_one_line(note)}" for note in report.notes]
    c = counts(report)
    verdict = "ok" if report.ok else "FAILED"
    out.append(
        f"SUMMARY {verdict}: {c['fail']} fail, {c['warn']} warn, {c['pass']} pass, {c['skip']} skip "
        f"({len(report.checks)} checks against {_one_line(report.source)})"
    )
    return [defuse(line) for line in out]


def annotate(report) -> None:
    """Under GitHub Actions: an error annotation per failed check, a warning per warning."""
    from aks_jumpbox.cli import annotations

    if not annotations.enabled():
        return
    for f in report.checks:
        kind = {"fail": "error", "warn": "warning"}.get(str(f.status))
        if kind is None:
            continue
        text = f.message + (f" Evidence: {f.evidence}" if f.evidence else "") + (f" Fix: {f.fix}" if f.fix else "")
        annotations.emit(kind, text, title=f"check {f.id}", to_stderr=json_output())


def show_report(report, only: frozenset[str] | None = None) -> None:
    from rich.table import Table

    table = Table(title=f"Preflight against {esc(report.source)}", title_justify="left", show_lines=True, expand=True)
    table.add_column("status", no_wrap=True)
    table.add_column("check", ratio=3)
    table.add_column("evidence", ratio=3)
    table.add_column("fix", ratio=2)
    for f in _ordered(report, only):
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
