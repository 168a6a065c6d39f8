"""`aks-jumpbox watch`: re-attach to a build and follow it to the end."""

from __future__ import annotations

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
from aks_jumpbox.cli.commands.status import template_option
from aks_jumpbox.cli.present import output_option


@click.command("watch")
@plan_options
@azure_options
@template_option
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
    template_name: str | None,
    interval: float | None,
    output: str,
) -> None:
    """Follow the template's current build: state, phase, the script's steps, elapsed time and the log tail.

    Exits 0 when the build succeeded, 1 when it failed (with the failing step and log lines).
    Ctrl-C detaches again; the build goes on.
    """
    from aks_jumpbox.azure import pipeline
    from aks_jumpbox.cli.commands.build import hints
    from aks_jumpbox.cli.progress import Presenter, present_outcome
    from aks_jumpbox.core.buildlog import plan_steps
    from aks_jumpbox.core.runs import Decision

    _, plan = load_plan(spec_path, lock_path, keep_on_error)
    presenter = Presenter(output)
    with connect(plan, azure_args) as az, sigterm_as_interrupt():
        template = pipeline.template_of(az, plan, template_name)
        opts = pipeline.Options(
            remove_image_role=plan.spec.identity.remove_image_role_after_build,
            interval=az.tuning.watch_seconds if interval is None else interval,
        )
        outcome = pipeline.Outcome(template.name, Decision("attach", "watching"), image_id=plan.image_id)
        try:
            first = template.status()
            if first.state is None:
                raise click.UsageError(
                    f"template {template.name} has never been run; start a build with "
                    f"`{rerun_hint('build', spec_path, keep_on_error)}`"
                )
            # Another template of this spec may have another script: its steps are those its output shows.
            planned = plan_steps(plan) if template.name == plan.template.name else ()
            outcome.run = template.watch(
                interval=opts.interval,
                on_update=presenter.update,
                log_tail=pipeline.LiveTail(az, opts.tail_lines, planned),
            )
            # Only the watcher that saw the end removes the JIT role, and only if the spec asks.
            pipeline.finish(az, plan, template, outcome, opts)
            presenter.finished(outcome)
        except KeyboardInterrupt:
            presenter.stop()
            if presenter.json:
                presenter.emit("detached", started=True)
            click.echo(
                f"\ndetached: the build goes on in Azure. Re-attach with "
                f"`{rerun_hint('watch', spec_path, keep_on_error)}`.",
                err=True,
            )
            raise click.exceptions.Exit(130) from None
        finally:
            presenter.stop()
    present_outcome(presenter, outcome, plan, hints(spec_path, keep_on_error))
    if not outcome.ok:
        raise click.exceptions.Exit(1)
