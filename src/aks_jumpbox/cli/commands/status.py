"""`aks-jumpbox status`: the template's last run, its image, and where its logs are."""

from __future__ import annotations

import click

from aks_jumpbox.cli.azure_common import (
    azure_options,
    connect,
    json_errors,
    load_plan,
    plan_options,
    rerun_hint,
)
from aks_jumpbox.cli.present import console, emit_json, esc, output_option

template_option = click.option(
    "--template",
    "template_name",
    default=None,
    help="Another image template of this spec (default: the plan's current one).",
)


@click.command("status")
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
    """Show the state of the plan's image template and its last build (one look; `watch` follows)."""
    import datetime as dt

    from aks_jumpbox.azure.apply import provisioning_failure
    from aks_jumpbox.azure.logs import staging_group
    from aks_jumpbox.azure.pipeline import template_of
    from aks_jumpbox.core.runs import RunStatus

    _, plan = load_plan(spec_path, lock_path, keep_on_error)
    with connect(plan, azure_args) as az:
        template = template_of(az, plan, template_name)
        live = template.read()
        run = RunStatus.from_template(live)
        image = template.image_exists(plan.image_id) if live is not None else False
        staging = staging_group(az, live) if live is not None and run.state else None
    doc = {
        "template": template.name,
        "templateId": template.id,
        "exists": live is not None,
        "provisioningState": ((live or {}).get("properties") or {}).get("provisioningState"),
        "provisioningError": (refused := provisioning_failure(live)),  # a submission Azure refused: 'code: message'
        "run": run.to_json(),
        "imageId": plan.image_id,
        "imageExists": image,
        "stagingResourceGroup": staging,
    }
    if output == "json":
        emit_json(doc)
        return
    con = console()
    if live is None:
        con.print(
            f"template {esc(template.name)} does not exist; create it with "
            f"`{esc(rerun_hint('deploy', spec_path, keep_on_error))}` or build with "
            f"`{esc(rerun_hint('build', spec_path, keep_on_error))}`"
        )
        return
    con.print(f"template  {esc(template.name)} ({esc(doc['provisioningState'])})")
    if refused:
        con.print(f"error     {esc(refused[:1000])}", soft_wrap=True)
        con.print(
            f"          a Failed template cannot be updated: `{esc(rerun_hint('deploy', spec_path, keep_on_error))}` "
            "(or build) deletes and re-creates it",
            soft_wrap=True,
        )
    # "Succeeded since 2026-06-01 10:31:02 UTC (the run took 31:02)": whole seconds, with the run's duration.
    con.print(esc(f"last run  {run.since(dt.datetime.now(dt.UTC))}"))
    if run.message:
        con.print(f"message   {esc(run.message[:1000])}", soft_wrap=True)
    con.print(f"image     {esc(plan.image_id)} ({'exists' if image else 'not built'})", soft_wrap=True)
    if staging:
        con.print(f"staging   {esc(staging)}")
    if run.active:
        con.print(f"follow it with `{esc(rerun_hint('watch', spec_path, keep_on_error))}`")
