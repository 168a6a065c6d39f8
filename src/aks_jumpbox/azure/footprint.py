"""What of aks-jumpbox's is in Azure around this spec: its own image templates, and everything that is
another spec's (or cannot be told to be this one's), for `cleanup`, `deploy` and `check` to leave alone
and warn about.

Read: the image templates and user-assigned identities in the build resource group (tagged
aks-jumpbox.spec), the subscription's custom roles (named by their roleName: roles take no tags) and,
only when some of those roles are another spec's, the subscription's role assignments, to find the ones
of those roles (an assignment takes no tags either: it is the spec's whose role it assigns). Whose each
one is, is decided in core/footprint.py. Nothing found here is ever written or deleted: `cleanup` deletes
only the planned resources of this spec (by name), `deploy` writes only those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aks_jumpbox.azure import resources as rs
from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.errors import AzureFailure, arm
from aks_jumpbox.core import kinds
from aks_jumpbox.core.footprint import Found, found, ownership
from aks_jumpbox.core.model import Plan
from aks_jumpbox.core.resource_ids import resource_group_id, subscription_scope

# What this tool's names look like (core/naming.py), for resources that carry no aks-jumpbox.spec tag.
_TEMPLATE_NAME = re.compile(r"^imgt-.+-[0-9a-f]{10}$")
_IDENTITY_NAME = re.compile(r"^id-.+-imagebuilder$")
_GENERATOR_TAG = "aks-jumpbox.generator"


@dataclass
class Survey:
    key: str
    templates: list[dict[str, Any]] = field(default_factory=list)  # this spec's, by name
    foreign: list[Found] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # what could not be listed, and why

    def lines(self) -> list[str]:
        return [f.line(self.key) for f in self.foreign] + [
            f"could not look for other specs' resources: {u}" for u in self.unread
        ]


def _looks_like_template(doc: dict[str, Any]) -> bool:
    tags = doc.get("tags") or {}
    return bool(_TEMPLATE_NAME.match(str(doc.get("name") or ""))) or str(tags.get(_GENERATOR_TAG, "")).startswith(
        "aks-jumpbox"
    )


def _list(what: str, scope: str, call: Any) -> list[dict[str, Any]]:
    with arm(f"listing the {what}", scope):
        return [rs.to_json(x) or {} for x in call()]


def survey(az: Azure, plan: Plan, *, strict: bool = False) -> Survey:
    """This spec's image templates, and every aks-jumpbox resource that is not known to be this spec's.

    strict: the image templates Azure refuses to list fail the command (cleanup must know them); any
    other list refused is noted in `unread` and the rest goes on.
    """
    key = plan.names.spec
    out = Survey(key)
    rg = plan.spec.build.resource_group
    rg_id = resource_group_id(plan.subscription, rg)
    planned = {r.id.lower() for r in plan.resources}

    def sort(kind: kinds.Kind, docs: list[dict[str, Any]], looks_ours: Any) -> list[dict[str, Any]]:
        ours = []
        for doc in sorted(docs, key=lambda d: str(d.get("name") or "")):
            own = ownership(kind, doc, key, looks_ours(doc))
            if own == "ours":
                ours.append(doc)
            elif own != "unrelated":
                out.foreign.append(found(kind, doc, planned=str(doc.get("id") or "").lower() in planned))
        return ours

    templates = az.imagebuilder.virtual_machine_image_templates
    identities = az.msi.user_assigned_identities
    sub = subscription_scope(plan.subscription)
    reads = [
        (
            kinds.TEMPLATE,
            f"image templates in resource group {rg}",
            rg_id,
            lambda: templates.list_by_resource_group(rg),
        ),
        (
            kinds.IDENTITY,
            f"managed identities in resource group {rg}",
            rg_id,
            lambda: identities.list_by_resource_group(rg),
        ),
        (
            kinds.ROLE_DEFINITION,
            "custom roles of the subscription",
            sub,
            lambda: az.authorization.role_definitions.list(sub, filter="type eq 'CustomRole'"),
        ),
    ]
    looks = {
        kinds.TEMPLATE.arm_type: _looks_like_template,
        kinds.IDENTITY.arm_type: lambda d: (
            bool(_IDENTITY_NAME.match(str(d.get("name") or ""))) or str(d.get("id") or "").lower() in planned
        ),
        kinds.ROLE_DEFINITION.arm_type: lambda d: False,
    }
    foreign_roles: dict[str, Found] = {}  # by role definition GUID
    for kind, what, scope, call in reads:
        try:
            docs = _list(what, scope, call)
        except AzureFailure as exc:
            if strict and kind is kinds.TEMPLATE:
                raise
            out.unread.append(f"listing the {what}: {exc.code}")
            continue
        before = len(out.foreign)
        ours = sort(kind, docs, looks[kind.arm_type])
        if kind is kinds.TEMPLATE:
            out.templates = ours
        if kind is kinds.ROLE_DEFINITION:
            foreign_roles = {_guid(f.id): f for f in out.foreign[before:] if f.owner is not None}
    if foreign_roles:  # one more (paged) list, only when another spec's roles exist
        _foreign_assignments(az, sub, foreign_roles, out)
    return out


def _guid(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1].lower()


def _foreign_assignments(az: Azure, sub: str, roles: dict[str, Found], out: Survey) -> None:
    """The subscription's role assignments of other specs' custom roles: theirs, whoever they are assigned to."""
    what = "role assignments of the subscription"
    try:
        docs = _list(what, sub, lambda: az.authorization.role_assignments.list_for_subscription())
    except AzureFailure as exc:
        out.unread.append(f"listing the {what}: {exc.code}")
        return
    for doc in sorted(docs, key=lambda d: str(d.get("id") or "")):
        props = doc.get("properties") or {}
        role = roles.get(_guid(str(props.get("roleDefinitionId") or "")))
        if role is None:
            continue
        scope = str(props.get("scope") or "")
        name = f"{doc.get('name') or _guid(str(doc.get('id') or ''))} of {role.name} on {scope.rsplit('/', 1)[-1]}"
        out.foreign.append(
            Found(kinds.ROLE_ASSIGNMENT.label, name, str(doc.get("id") or ""), role.owner, "role's name")
        )
