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
SHARED_RULE = (
    "An image definition shared by several specs (dev and prod) has one `latest` for all of them: "
    "every spec's versions count. Each version's owner is its aks-jumpbox.spec tag."
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
        "owner": v.owner,
        "channel": channel(v, versions),
        "excludeFromLatest": v.exclude_from_latest,
        "provisioningState": v.provisioning_state,
        "replication": v.replication,
        "regions": [r.to_json() for r in v.regions],
        "publishedDate": v.published,
        "planHash": v.plan_hash,
        "currentPlan": v.plan_hash == current_hash,
    }


@click.command("versions", epilog=f"{LATEST_RULE} {SHARED_RULE}")
@plan_options
@azure_options
@click.option(
    "--all", "show_all", is_flag=True, help="Show every spec's versions of the image definition, with their owner."
)
@output_option
@json_errors
def command(
    spec_path: str | None, lock_path: str | None, keep_on_error: bool, azure_args, show_all: bool, output: str
) -> None:
    """List this spec's versions of the gallery image definition: state, replication per region, canary
    or latest, build date and the plan hash (content) each was built from.

    channel is canary (excludeFromLatest), latest (what `latest` resolves to) or superseded (eligible,
    but a higher version number wins). Other specs' versions (by their aks-jumpbox.spec tag) are counted,
    not shown; --all shows them too."""
    from aks_jumpbox.azure.gallery import Definition, list_versions
    from aks_jumpbox.core.gallery import others_by_owner, others_note, owner_label
    from aks_jumpbox.core.versions import latest, version_key

    _, plan = load_plan(spec_path, lock_path, keep_on_error)
    key = plan.names.spec
    gallery = gallery_of(plan, spec_path)
    definition = Definition.of(gallery)
    with connect(plan, azure_args) as az:
        versions = list_versions(az, definition)
    every = sorted(versions or [], key=lambda v: version_key(v.name) or (-1, -1, -1))
    rows = every if show_all else [v for v in every if v.owner == key]
    others = others_by_owner(every, key)
    top = latest(every)  # the definition's: every spec's versions count
    doc: dict[str, Any] = {
        "imageDefinitionId": definition.id,
        "exists": versions is not None,
        "spec": key,
        "all": show_all,
        "latest": top.name if top else None,
        "latestOwner": top.owner if top else None,
        "planVersion": gallery.version,
        "versions": [version_json(v, every, plan.hash) for v in rows],
        "others": {"count": sum(others.values()), "byOwner": others, "shown": show_all},
    }
    if output == "json":
        emit_json(doc)
        return
    con = console()
    title = f"{definition.gallery}/{definition.image}"
    if versions is None:
        con.print(f"image definition {esc(title)} does not exist yet; `aks-jumpbox build` creates it")
        return
    if not every:
        con.print(f"image definition {esc(title)} has no versions yet")
        return
    if rows:
        from rich.table import Table

        table = Table(box=None, pad_edge=False, title=esc(title), title_justify="left")
        columns = ["version", "channel", "state", "replication", "regions (replicas)", "published", "plan hash"]
        for col in columns + (["owner"] if show_all else []):
            table.add_column(col)
        for v, j in zip(rows, doc["versions"], strict=True):
            regions = ", ".join(f"{r.name} ({r.replicas if r.replicas is not None else '?'})" for r in v.regions)
            mark = " *" if j["currentPlan"] else ""
            cells = [
                v.name + mark,
                j["channel"],
                v.provisioning_state or "?",
                v.replication or "?",
                regions,
                v.published or "?",
                (v.plan_hash or "?")[:12],
            ]
            if show_all:
                cells.append(owner_label(v) + (" (this spec)" if v.owner == key else ""))
            table.add_row(*map(esc, cells))
        con.print(table)
    else:
        con.print(f"image definition {esc(title)} has no versions of spec {esc(key)} yet")
    if others and not show_all:
        con.print(f"not shown: {esc(others_note(others))}; --all shows them", soft_wrap=True)
    if top is not None and top.owner != key:
        con.print(
            f"`latest` resolves to {esc(top.name)}, spec {esc(owner_label(top))}'s: the image definition is "
            "shared, so its `latest` is the same for every spec that distributes to it",
            soft_wrap=True,
        )
    if rows:
        con.print("* built from the current plan. " + LATEST_RULE, soft_wrap=True)
