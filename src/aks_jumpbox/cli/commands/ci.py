"""`aks-jumpbox ci github|azure-devops`: write a scheduled rebuild pipeline."""

from __future__ import annotations

import os
from pathlib import Path

import click

from aks_jumpbox.core.errors import UserError

TARGETS = {"github": ".github/workflows/aks-jumpbox.yml", "azure-devops": "azure-pipelines.yml"}
FIXES = {
    "--file": "Run `ci` from the repository root and give the spec's path from there, e.g. -f images/jumpbox.yaml.",
    "--install": "Give a pip requirement without spaces or quotes, e.g. --install 'aks-jumpbox==0.1.0'.",
    "--branch": "Give the branch's name, e.g. --branch main.",
}


def _options(f):
    f = click.option("--force", is_flag=True, help="Overwrite an existing file.")(f)
    f = click.option(
        "--out",
        "out",
        type=click.Path(dir_okay=False),
        default=None,
        help="Where to write it. Default: the platform's usual path.",
    )(f)
    f = click.option(
        "--install",
        default=None,
        metavar="REQUIREMENT",
        help="How the pipeline installs aks-jumpbox (a pip requirement: a wheel in the repository, a git URL, "
        "a version on your index). Default: this version's wheel from `uv build`, committed as dist/<wheel>.",
    )(f)
    f = click.option("--branch", default="main", show_default=True, help="The branch the pipeline builds.")(f)
    f = click.option(
        "--schedule",
        default="17 3 * * 1",
        show_default=True,
        metavar="CRON",
        help="When to rebuild (UTC, 5-field cron). Default: weekly, Monday 03:17.",
    )(f)
    f = click.option(
        "--file",
        "-f",
        "spec_path",
        type=click.Path(dir_okay=False),
        default="jumpbox.yaml",
        show_default=True,
        help="The spec, as a path from the repository root.",
    )(f)
    return f


@click.group("ci")
def command() -> None:
    """Write a pipeline that rebuilds the image on a schedule with OIDC workload identity."""


def _write(
    kind: str, spec_path: str, schedule: str, branch: str, install: str | None, out: str | None, force: bool, **extra
) -> None:
    from dataclasses import replace

    from aks_jumpbox.core.catalog import load_catalog
    from aks_jumpbox.core.spec import load_spec
    from aks_jumpbox.render.ci import (
        CiOptions,
        azure_devops_pipeline,
        cron_problem,
        github_workflow,
        option_problems,
    )

    if problem := cron_problem(schedule):
        raise UserError(f"--schedule: {problem}.", fix="Write a cron such as '17 3 * * 1' (weekly, Monday 03:17 UTC).")
    # Every value is written into the pipeline's YAML and shell lines: checked before anything is read.
    opts = CiOptions(spec_file=Path(spec_path).as_posix(), schedule=schedule, branch=branch, **extra)
    if install is not None:
        opts = replace(opts, install=install)
    given = {
        "--file": spec_path,
        "--install": install,
        "--branch": branch,
        "--schedule": schedule,
        "--environment": extra.get("promote_environment"),
        "--service-connection": extra.get("service_connection"),
    }
    for option, problem in option_problems(opts):
        raise UserError(f"{option} {given[option]!r} {problem}.", fix=FIXES.get(option, "Give a plain name."))
    spec, _ = load_spec(spec_path, load_catalog())
    opts = replace(opts, gallery=getattr(spec.distribute, "gallery", None) is not None)
    text = github_workflow(opts) if kind == "github" else azure_devops_pipeline(opts)
    from aks_jumpbox.adapters.files import write_atomic, write_file

    target = Path(out or TARGETS[kind])
    if os.path.lexists(target) and not force:
        raise UserError(f"{target} already exists.", fix="Pass --force to overwrite it, or --out to write elsewhere.")
    # The default path's folders (.github/workflows) are created without following links; --out is the user's.
    write_file(target, text) if out else write_atomic(Path("."), TARGETS[kind], text)
    click.echo(f"wrote {target}")


@command.command("github")
@_options
@click.option(
    "--environment",
    "promote_environment",
    default="production",
    show_default=True,
    help="The protected environment whose approval promotion waits for (gallery only).",
)
def github(**kwargs) -> None:
    """GitHub Actions: needs repository variables AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_SUBSCRIPTION_ID
    and a federated credential on that identity for this repository."""
    _write("github", **kwargs)
    click.echo(
        "next: set repository variables AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_SUBSCRIPTION_ID, and add a "
        "federated credential for this repository to that identity"
    )


@command.command("azure-devops")
@_options
@click.option(
    "--service-connection",
    default="aks-jumpbox",
    show_default=True,
    help="An Azure Resource Manager service connection using workload identity federation.",
)
@click.option(
    "--environment",
    "promote_environment",
    default="production",
    show_default=True,
    help="The environment whose approvals promotion waits for (gallery only).",
)
def azure_devops(**kwargs) -> None:
    """Azure Pipelines: signs in through a workload identity federation service connection."""
    _write("azure-devops", **kwargs)
