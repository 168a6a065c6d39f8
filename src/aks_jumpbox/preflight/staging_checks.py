"""Checks of a staging resource group the spec names (build.staging_resource_group).

Microsoft's rules (DOC below): a given group that exists "cannot be associated with another image
template, must be empty (no resources inside), in the same region as the image template, and have either
"Contributor" or "Owner" RBAC applied to the identity assigned to the Azure Image Builder image template
resource". A given group that does not exist is created by Image Builder with the template, and the
identity gets Contributor there (#template-creation-scenarios); so does a group Image Builder made before
for this template.

Region and emptiness are documented requirements and fail the check. Whether another template uses the
group is read from the tags Image Builder puts on it (usedBy / createdBy, imageTemplateName): inferred,
so it warns. The identity's role there is checked by access_checks (identity.role.staging); when Image
Builder grants it itself, that finding and the caller's (caller.assign.staging) say so instead.
"""

from __future__ import annotations

from aks_jumpbox.core.resource_ids import resource_group_id
from aks_jumpbox.preflight.context import CheckContext, skipped
from aks_jumpbox.preflight.findings import Finding, Status
from aks_jumpbox.preflight.source import Unavailable
from aks_jumpbox.preflight.subnet import normalize_region

DOC = "https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-json#properties-stagingresourcegroup"
AIB = "AzureVMImageBuilder"


def _owner(tags: dict) -> str | None:
    """The image template Image Builder's tags say uses the group, if any."""
    if AIB in (tags.get("usedBy"), tags.get("createdBy")):
        return str(tags.get("imageTemplateName") or "") or None
    return None


def staging_checks(ctx: CheckContext) -> tuple[list[Finding], bool]:
    """(findings, whether Image Builder grants the identity its role there itself)."""
    name = ctx.spec.build.staging_resource_group
    if not name:
        return [], False
    rid = resource_group_id(ctx.subscription, name)
    template = ctx.plan.template.name
    want = normalize_region(ctx.spec.build.location)
    try:
        group = ctx.src.resource(rid)
    except Unavailable as exc:
        return [skipped("staging.group", f"staging resource group {name}", exc)], False
    if group is None:
        message = (
            f"staging resource group {name} does not exist: Image Builder creates it in {want} with "
            "the template and gives the identity Contributor there"
        )
        return [Finding("staging.group", Status.PASS, message, f"GET {rid}: not found; {DOC}")], True
    tags = group.get("tags") or {}
    owner = _owner(tags)
    out: list[Finding] = []
    where = normalize_region(str(group.get("location", "")))
    if where != want:
        out.append(
            Finding(
                "staging.region",
                Status.FAIL,
                f"staging resource group {name} is in {where}, but the image template is in "
                f"{want}; Image Builder requires the same region",
                f"{rid} in {where}; {DOC}",
                f"Name a staging group in {want} (build.staging_resource_group), or one that "
                "does not exist yet: Image Builder then creates it",
            )
        )
    else:
        out.append(Finding("staging.region", Status.PASS, f"staging resource group {name} is in {want}", rid))
    if owner == template:  # made or used by this very template: its staging resources are in it
        out.append(
            Finding(
                "staging.empty",
                Status.PASS,
                f"staging resource group {name} is this template's ({template})",
                f"tags: imageTemplateName={owner}",
            )
        )
        return out, tags.get("createdBy") == AIB
    if owner:
        out.append(
            Finding(
                "staging.association",
                Status.WARN,
                f"staging resource group {name} seems associated with image template {owner}; "
                "Image Builder refuses a staging group another template uses",
                f"tags usedBy/createdBy={AIB}, imageTemplateName={owner} (inferred from the tags); {DOC}",
                f"Delete template {owner} first (`aks-jumpbox cleanup`), or name another staging group",
            )
        )
    try:
        listed = ctx.src.resource(f"{rid}/resources")
    except Unavailable as exc:
        out.append(skipped("staging.empty", f"the contents of staging resource group {name}", exc))
        return out, False
    inside = [r for r in (listed or {}).get("value") or [] if isinstance(r, dict)]
    if inside:
        shown = ", ".join(f"{r.get('type')} {r.get('name')}" for r in inside[:3])
        more = f" and {len(inside) - 3} more" if len(inside) > 3 else ""
        out.append(
            Finding(
                "staging.empty",
                Status.FAIL,
                f"staging resource group {name} is not empty; Image Builder requires an empty one",
                f"{shown}{more}; {DOC}",
                f"Move or delete what is in {name}, or name a group that does not exist yet",
            )
        )
    else:
        out.append(
            Finding("staging.empty", Status.PASS, f"staging resource group {name} is empty", f"GET {rid}/resources")
        )
    return out, False


def with_staging_checks(ctx: CheckContext, findings: list[Finding]) -> list[Finding]:
    """findings plus the staging group's; where Image Builder grants the identity Contributor itself, the
    planned assignment's findings say so (deploy leaves that assignment to Image Builder)."""
    extra, granted = staging_checks(ctx)
    if granted:
        name = ctx.spec.build.staging_resource_group
        why = (
            f"Image Builder gives the identity Contributor on staging resource group {name} itself "
            "(deploy leaves this assignment to it)"
        )
        replaced = ("identity.role.staging", "caller.assign.staging")
        findings = [Finding(f.id, Status.PASS, why, DOC) if f.id in replaced else f for f in findings]
    return [*findings, *extra]
