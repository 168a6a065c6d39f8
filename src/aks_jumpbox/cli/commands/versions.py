"""`aks-jumpbox versions`: the gallery image definition's versions, canary or latest."""

from __future__ import annotations

from typing import Any

import click

from aks_jumpbox.cli.azure_common import azure_options, connect, json_errors, load_plan, plan_options
from aks_jumpbox.cli.present import console, emit_json, esc, output_option
from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.plan import GalleryPlan, Plan

LATEST_RULE = (
    "Azure resolves `latest` to the highest version number (MAJOR.MINOR.PATCH, compared as integers) "
    "among the versions not excluded from latest; build date and build order do not count."
)


def gallery_of(plan: Plan, spec_path: str | None) -> GalleryPlan:
    if plan.gallery is None:
        raise UserError(
            f"{spec_path or 'jumpbox.yaml'}: distribute.gallery is not set, so there are no gallery "
            "versions to look at.",
            fix="Add distribute.gallery (resource_group, name, image) to the spec and build.",
        )
    return plan.gallery


def version_json(v, versions, current_hash: str) -> dict:
    from aks_jumpbox.core.versions import channel

    return {
        "name": v.name,
        "id": v.id,
        "channel": channel(v, versions),
        "excludeFromLatest": v.exclude_from_latest,
        "provisioningState": v.provisioning_state,
        "replication": v.replication,
        "regions": [r.to_json() for r in v.regions],
        "publishedDate": v.published,
        "planHash": v.plan_hash,
        "currentPlan": v.plan_hash == current_hash,
    }


@click.command("versions", epilog=LATEST_RULE)
@plan_options
@azure_options
@output_option
@json_errors
def command(spec_path: str | None, lock_path: str | None, keep_on_error: bool, azure_args, output: str) -> None:
    """List the gallery image definition's versions: state, replication per region, canary or latest,
    build date and the plan hash (content) each was built from.

    channel is canary (excludeFromLatest), latest (what `latest` resolves to) or superseded (eligible,
    but a higher version number wins)."""
    from aks_jumpbox.azure.gallery import Definition, list_versions
    from aks_jumpbox.core.versions import latest, version_key

    _, plan = load_plan(spec_path, lock_path, keep_on_error)
    gallery = gallery_of(plan, spec_path)
    definition = Definition.of(gallery)
    with connect(plan, azure_args) as az:
        versions = list_versions(az, definition)
    rows = sorted(versions or [], key=lambda v: version_key(v.name) or (-1, -1, -1))
    top = latest(rows)
    doc: dict[str, Any] = {
        "imageDefinitionId": definition.id,
        "exists": versions is not None,
        "latest": top.name if top else None,
        "planVersion": gallery.version,
        "versions": [version_json(v, rows, plan.hash) for v in rows],
    }
    if output == "json":
        emit_json(doc)
        return
    con = console()
    if versions is None:
        con.print(
            f"image definition {esc(definition.gallery)}/{esc(definition.image)} does not exist yet; "
            "`aks-jumpbox build` creates it"
        )
        return
    if not rows:
        con.print(f"image definition {esc(definition.gallery)}/{esc(definition.image)} has no versions yet")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, title=esc(f"{definition.gallery}/{definition.image}"), title_justify="left")
    for col in ("version", "channel", "state", "replication", "regions (replicas)", "published", "plan hash"):
        table.add_column(col)
    for v, j in zip(rows, doc["versions"], strict=True):
        regions = ", ".join(f"{r.name} ({r.replicas if r.replicas is not None else '?'})" for r in v.regions)
        mark = " *" if j["currentPlan"] else ""
        cells = (
            v.name + mark,
            j["channel"],
            v.provisioning_state or "?",
            v.replication or "?",
            regions,
            v.published or "?",
            (v.plan_hash or "?")[:12],
        )
        table.add_row(*map(esc, cells))
    con.print(table)
    con.print("* built from the current plan. " + LATEST_RULE, soft_wrap=True)
