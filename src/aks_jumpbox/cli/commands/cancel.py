"""`aks-jumpbox cancel`: cancel the template's running build."""

from __future__ import annotations

import click

from aks_jumpbox.cli.azure_common import azure_options, connect, json_errors, load_plan, plan_options
from aks_jumpbox.cli.commands.status import template_option
from aks_jumpbox.cli.present import console, emit_json, esc, output_option


@click.command("cancel")
@plan_options
@azure_options
@template_option
@output_option
@json_errors
def command(
    spec_path: str | None,
    lock_path: str | None,
    keep_on_error: bool,
    azure_args,
    template_name: str | None,
    output: str,
) -> None:
    """Cancel the running build of the plan's image template (waits until Azure confirms)."""
    from aks_jumpbox.azure.pipeline import template_of

    _, plan = load_plan(spec_path, lock_path, keep_on_error)
    with connect(plan, azure_args) as az:
        template = template_of(az, plan, template_name)
        before = template.status()
        cancelled = before.active
        if cancelled:
            template.cancel()
        after = template.status() if cancelled else before
    if output == "json":
        emit_json({"template": template.name, "cancelled": cancelled, "run": after.to_json()})
    elif cancelled:
        console().print(f"cancelled the build of {esc(template.name)}: {esc(after.label())}")
    else:
        console().print(f"nothing to cancel: the last build of {esc(template.name)} is {esc(after.label())}")
