"""Checks of the subscription around the build: region, providers, resource groups, the source image,
the template's state, and pins past their review date."""

from __future__ import annotations

import re
import shlex

from aks_jumpbox.core.outdated import review_flags
from aks_jumpbox.core.resource_ids import resource_group_id
from aks_jumpbox.preflight._arm import props
from aks_jumpbox.preflight.context import CheckContext, skipped, split_id
from aks_jumpbox.preflight.findings import Finding, Status
from aks_jumpbox.preflight.source import Unavailable
from aks_jumpbox.preflight.subnet import normalize_region

AIB = "Microsoft.VirtualMachineImages"


def _provider_locations(doc: dict, resource_type: str) -> list[str] | None:
    for t in props(doc).get("resourceTypes") or doc.get("resourceTypes") or []:
        if isinstance(t, dict) and str(t.get("resourceType", "")).lower() == resource_type.lower():
            locs = t.get("locations")
            return [normalize_region(x) for x in locs] if isinstance(locs, list) else None
    return None


def region_check(ctx: CheckContext) -> Finding:
    spec = ctx.spec
    loc = normalize_region(spec.build.location)
    listed = [normalize_region(r) for r in ctx.facts["image_builder_regions"].get(spec.cloud, [])]
    fid = "region.image-builder"
    evidence = f"aks-jumpbox's region list for {spec.cloud} {'includes' if loc in listed else 'lacks'} {loc}"
    live: list[str] | None = None
    try:
        doc = ctx.src.provider(ctx.subscription, AIB)
        live = _provider_locations(doc, "imageTemplates") if doc else None
    except Unavailable as exc:
        evidence += f"; the provider's own list was not read ({exc.reason})"
    if live is not None:
        including = "including" if loc in live else "not"
        evidence += f"; provider {AIB} offers imageTemplates in {len(live)} regions, {including} {loc}"
    ok = loc in live if live is not None else loc in listed
    if not ok:
        return Finding(
            fid,
            Status.FAIL,
            f"Azure VM Image Builder does not build in {loc}",
            evidence,
            f"Set build.location in jumpbox.yaml to a supported region (`az provider show -n {AIB} "
            "--query \"resourceTypes[?resourceType=='imageTemplates'].locations\"`), with a VNet there",
        )
    preview = ctx.facts.get("preview_features", {}).get(spec.cloud)
    if preview:
        return Finding(
            fid,
            Status.WARN,
            f"Image Builder runs in {loc} as a preview of {spec.cloud}",
            evidence,
            f"az feature register --namespace {AIB} --name {preview} --subscription {ctx.subscription}",
        )
    return Finding(fid, Status.PASS, f"Azure VM Image Builder builds in {loc}", evidence)


def provider_checks(ctx: CheckContext) -> list[Finding]:
    out = []
    for ns in ctx.facts["required_providers"]:
        fid = f"provider.{ns}"
        fix = f"az provider register --subscription {ctx.subscription} --namespace {ns} --wait"
        why = (
            "Image Builder runs each build's Packer in a container instance, whatever the topology"
            if ns == "Microsoft.ContainerInstance"
            else "the build needs it"
        )
        try:
            doc = ctx.src.provider(ctx.subscription, ns)
        except Unavailable as exc:
            out.append(skipped(fid, f"registration of {ns}", exc))
            continue
        if doc is None:
            out.append(
                Finding(
                    fid,
                    Status.FAIL,
                    f"resource provider {ns} is unknown to subscription {ctx.subscription}",
                    f"GET providers/{ns}: not found",
                    fix,
                )
            )
            continue
        state = str(doc.get("registrationState") or props(doc).get("registrationState") or "")
        evidence = f"registrationState: {state or '(missing)'}"
        if state.lower() == "registered":
            out.append(Finding(fid, Status.PASS, f"resource provider {ns} is registered", evidence))
        elif state.lower() == "registering":
            # A build started before registration completes fails: wait, do not start it now.
            out.append(
                Finding(
                    fid,
                    Status.FAIL,
                    f"resource provider {ns} is still registering ({why}): a build "
                    "started now fails; wait for registration, then re-run",
                    evidence,
                    f"az provider register --subscription {ctx.subscription} --namespace {ns} --wait "
                    "(waits until it is Registered), then re-run `aks-jumpbox check`",
                )
            )
        else:
            out.append(Finding(fid, Status.FAIL, f"resource provider {ns} is not registered ({why})", evidence, fix))
    return out


def resource_group_checks(ctx: CheckContext) -> list[Finding]:
    spec = ctx.spec
    wanted: list[tuple[str, str, str]] = [("build", spec.build.resource_group, "the identity and the image template")]
    if spec.distribute.managed_image is not None:
        wanted.append(("image", spec.distribute.managed_image.resource_group, "the built managed image"))
    if spec.distribute.gallery is not None:
        wanted.append(("gallery", spec.distribute.gallery.resource_group, "the Azure Compute Gallery"))
    out: list[Finding] = []
    seen: set[str] = set()
    for role, rg, holds in wanted:
        if rg.lower() in seen:
            continue
        seen.add(rg.lower())
        fid = f"resource-group.{role}"
        rid = resource_group_id(ctx.subscription, rg)
        try:
            doc = ctx.src.resource(rid)
        except Unavailable as exc:
            out.append(skipped(fid, f"resource group {rg}", exc))
            continue
        if doc is None:
            out.append(
                Finding(
                    fid,
                    Status.FAIL,
                    f"resource group {rg} (for {holds}) does not exist",
                    f"GET {rid}: not found",
                    f"az group create --subscription {ctx.subscription} -n {shlex.quote(rg)} -l {spec.build.location}",
                )
            )
        else:
            out.append(
                Finding(
                    fid,
                    Status.PASS,
                    f"resource group {rg} (for {holds}) exists",
                    f"{rid} in {doc.get('location', '?')}",
                )
            )
    return out


def gallery_check(ctx: CheckContext) -> list[Finding]:
    g = ctx.plan.gallery
    if g is None or g.created:
        return []
    fid = "gallery.image-definition"
    try:
        doc = ctx.src.resource(g.image_definition_id)
    except Unavailable as exc:
        return [skipped(fid, "the gallery image definition", exc)]
    if doc is None:
        _, rg, name = split_id(g.image_definition_id)
        return [
            Finding(
                fid,
                Status.FAIL,
                f"gallery image definition {name} does not exist",
                f"GET {g.image_definition_id}: not found",
                "Create it (`az sig image-definition create …`) or let the plan create it (distribute.gallery.image)",
            )
        ]
    return [Finding(fid, Status.PASS, "the gallery image definition exists", g.image_definition_id)]


def _version_key(v: str) -> tuple:
    # (0, n) for a number, (1, text) otherwise: a document's odd name sorts, never crashes the check.
    return tuple((0, int(x)) if x.isascii() and x.isdigit() and len(x) < 19 else (1, x) for x in re.split(r"[.-]", v))


def source_image_check(ctx: CheckContext) -> list[Finding]:
    source = ctx.plan.template.body["properties"]["source"]
    if source.get("type") != "PlatformImage":
        return []
    loc = normalize_region(ctx.spec.build.location)
    pub, offer, sku, version = source["publisher"], source["offer"], source["sku"], source.get("version", "latest")
    urn = f"{pub}:{offer}:{sku}"
    fid = "source-image"
    fix = (
        f"`az vm image list --location {loc} --publisher {pub} --offer {offer} --sku {sku} --all -o table` lists "
        "what exists; choose another base_image or architecture in jumpbox.yaml"
    )
    try:
        versions = ctx.src.image_versions(ctx.subscription, loc, pub, offer, sku)
    except Unavailable as exc:
        return [skipped(fid, f"image {urn}", exc)]
    names = sorted((str(v.get("name", "")) for v in versions if isinstance(v, dict)), key=_version_key)
    if not names:
        return [
            Finding(
                fid,
                Status.FAIL,
                f"the base image {urn} has no version in {loc}",
                f"marketplace versions of {urn} in {loc}: none",
                fix,
            )
        ]
    evidence = f"{len(names)} versions of {urn} in {loc}, newest {names[-1]}"
    if version != "latest" and version not in names:
        return [Finding(fid, Status.FAIL, f"the base image {urn} has no version {version} in {loc}", evidence, fix)]
    return [Finding(fid, Status.PASS, f"the base image {urn} ({version}) exists in {loc}", evidence)]


def template_check(ctx: CheckContext) -> list[Finding]:
    t = ctx.plan.template
    fid = "template.not-running"
    try:
        doc = ctx.src.resource(t.id)
    except Unavailable as exc:
        return [skipped(fid, f"image template {t.name}", exc)]
    if doc is None:
        return [Finding(fid, Status.PASS, f"no image template {t.name} exists yet", f"GET {t.id}: not found")]
    run = props(doc).get("lastRunStatus") or {}
    state = str(run.get("runState") or "")
    evidence = f"lastRunStatus: {state or '(never run)'}" + (
        f", {run['runSubState']}" if run.get("runSubState") else ""
    )
    if state.lower() in ("running", "canceling"):
        return [
            Finding(
                fid,
                Status.WARN,
                f"image template {t.name} is already {state.lower()}: "
                "`build` attaches to that run rather than start one",
                evidence,
                "Follow it with `aks-jumpbox watch`, or stop it with `aks-jumpbox cancel`",
            )
        ]
    return [Finding(fid, Status.PASS, f"image template {t.name} exists and is not running", evidence)]


def review_checks(ctx: CheckContext) -> list[Finding]:
    flags = review_flags(ctx.spec, ctx.today)
    if not flags:
        return [
            Finding(
                "review.pins",
                Status.PASS,
                "no tool pin is past its review_by date",
                f"checked {len(ctx.spec.tools)} pins on {ctx.today.isoformat()}",
            )
        ]
    return [
        Finding(
            f"review.{name}",
            Status.WARN,
            flag.message,
            f"today is {ctx.today.isoformat()}",
            f"`aks-jumpbox outdated` shows newer releases; update tools.{name} (version and review_by) in jumpbox.yaml",
        )
        for name, flag in flags.items()
    ]


def platform_checks(ctx: CheckContext) -> list[Finding]:
    return [
        region_check(ctx),
        *provider_checks(ctx),
        *resource_group_checks(ctx),
        *gallery_check(ctx),
        *source_image_check(ctx),
        *template_check(ctx),
        *review_checks(ctx),
    ]
