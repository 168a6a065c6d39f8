"""`aks-jumpbox build`: check → deploy → run → watch → result, safely repeatable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from aks_jumpbox.cli.azure_common import (
    azure_options,
    connect,
    json_errors,
    load_plan,
    plan_options,
    rerun_hint,
    sigterm_as_interrupt,
)
from aks_jumpbox.cli.present import console, esc, output_option
from aks_jumpbox.core.errors import OperationFailed

if TYPE_CHECKING:
    from aks_jumpbox.cli.progress import Presenter
    from aks_jumpbox.core.plan import Plan
    from aks_jumpbox.preflight.checks import Report
    from aks_jumpbox.preflight.source import Source


def run_preflight(plan: Plan, source: Source, output: str, presenter: Presenter | None = None) -> Report:
    """Run the preflight checks against source and show their summary line with every failure and warning
    (a JSON Lines event with -o json); stop the build when one fails."""
    from aks_jumpbox.preflight.checks import run_checks

    report = run_checks(plan, source)
    if presenter is not None:
        presenter.preflight(report)
    elif output != "json":
        console().print(esc(str(report)))
    if not report.ok:
        raise OperationFailed("preflight checks failed; fix what they report (or pass --skip-check to build anyway)")
    return report


def hints(spec_path: str | None, keep_on_error: bool):
    """Spell a follow-up command with the user's spec (and --keep-on-error for the commands of this template)."""

    def hint(command: str, extra: str) -> str:
        return rerun_hint(command, spec_path, keep_on_error and command in ("logs", "watch", "build"), extra)

    return hint


@click.command("build")
@plan_options
@azure_options
@click.option("--force", is_flag=True, help="Build even if this exact template already built an image that exists.")
@click.option("--no-wait", is_flag=True, help="Start (or find) the build and return; follow it later with `watch`.")
@click.option("--skip-check", is_flag=True, help="Do not run the network/region/RBAC preflight checks first.")
@click.option(
    "--remove-image-role",
    is_flag=True,
    help="Remove the image-writer role assignment after the build (also: "
    "identity.remove_image_role_after_build in the spec); the next build re-adds it.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds between looks at the build (default 15, env AKS_JUMPBOX_WATCH_SECONDS).",
)
@output_option
@json_errors
def command(
    spec_path: str | None,
    lock_path: str | None,
    keep_on_error: bool,
    azure_args,
    force: bool,
    no_wait: bool,
    skip_check: bool,
    remove_image_role: bool,
    interval: float | None,
    output: str,
) -> None:
    """Build the image: deploy what the plan needs, run Image Builder and watch it to the end.

    Nothing is built when the last run of this exact template succeeded and its image exists
    (--force rebuilds). A build already running is attached to, not started again. Ctrl-C
    detaches without cancelling; `aks-jumpbox watch` re-attaches, `aks-jumpbox cancel` cancels.
    On failure the build logs are fetched and the failing step named.
    """
    from aks_jumpbox.azure import pipeline
    from aks_jumpbox.cli.footprint import warn_before_build
    from aks_jumpbox.cli.progress import Presenter, present_outcome

    _, plan = load_plan(spec_path, lock_path, keep_on_error)
    az = connect(plan, azure_args)
    opts = pipeline.Options(
        force=force,
        wait=not no_wait,
        remove_image_role=remove_image_role or plan.spec.identity.remove_image_role_after_build,
        interval=az.tuning.watch_seconds if interval is None else interval,
    )
    presenter = Presenter(output)
    watch_hint = rerun_hint("watch", spec_path, keep_on_error)
    with az, sigterm_as_interrupt():
        try:
            if not skip_check:
                from aks_jumpbox.azure.preflight import LiveSource

                run_preflight(plan, LiveSource(az), output, presenter)
            warn_before_build(az, plan, presenter)  # other specs' resources, as `deploy` warns about them
            outcome = pipeline.build(az, plan, opts, presenter)
            presenter.finished(outcome)
        except KeyboardInterrupt:
            presenter.stop()
            if presenter.json:
                presenter.emit("detached", started=presenter.started)
            if presenter.started:
                click.echo(
                    f"\ndetached: the build goes on in Azure. Re-attach with `{watch_hint}`, "
                    f"cancel with `{rerun_hint('cancel', spec_path, keep_on_error)}`.",
                    err=True,
                )
            else:
                click.echo(
                    f"\ninterrupted before the build started; run "
                    f"`{rerun_hint('build', spec_path, keep_on_error)}` again to continue.",
                    err=True,
                )
            raise click.exceptions.Exit(130) from None
        finally:
            presenter.stop()
    present_outcome(presenter, outcome, plan, hints(spec_path, keep_on_error))
    if output != "json" and no_wait and outcome.run is not None and outcome.run.active:
        console().print(f"follow it with `{esc(watch_hint)}`")
    if not outcome.ok:
        raise click.exceptions.Exit(1)
