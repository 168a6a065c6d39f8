"""Azure RBAC evaluation: built-in roles, wildcard action matching, effective permissions.

A principal may perform an action at a scope when some role assignment of that principal at the scope
or above it refers to a role with a permission block whose ``actions`` match the action and whose
``notActions`` do not. ``*`` matches any run of characters (``Microsoft.Network/*``, ``*/read``, ``*``);
matching is case-insensitive. Conditions and deny assignments are not modelled.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from . import ids
from .store import Resource, Store

ROLE_DEFINITIONS = "Microsoft.Authorization/roleDefinitions"
ROLE_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"


def _perm(actions: list[str], not_actions: list[str] = (), data: list[str] = (), not_data: list[str] = ()) -> dict:
    return {
        "actions": list(actions),
        "notActions": list(not_actions),
        "dataActions": list(data),
        "notDataActions": list(not_data),
    }


# Built-in roles the tool and its tests touch (ids and permissions as Azure publishes them).
BUILTIN_ROLES: dict[str, tuple[str, str, list[dict]]] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": (
        "Owner",
        "Grants full access to manage all resources.",
        [_perm(["*"])],
    ),
    "b24988ac-6180-42a0-ab88-20f7382dd24c": (
        "Contributor",
        "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.",
        [
            _perm(
                ["*"],
                [
                    "Microsoft.Authorization/*/Delete",
                    "Microsoft.Authorization/*/Write",
                    "Microsoft.Authorization/elevateAccess/Action",
                    "Microsoft.Compute/galleries/share/action",
                    "Microsoft.Subscription/cancel/action",
                    "Microsoft.Subscription/enable/action",
                ],
            )
        ],
    ),
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": ("Reader", "View all resources.", [_perm(["*/read"])]),
    "4d97b98b-1d4f-4787-a291-c67834d212e7": (
        "Network Contributor",
        "Lets you manage networks, but not access to them.",
        [
            _perm(
                [
                    "Microsoft.Authorization/*/read",
                    "Microsoft.Insights/alertRules/*",
                    "Microsoft.Network/*",
                    "Microsoft.ResourceHealth/availabilityStatuses/read",
                    "Microsoft.Resources/deployments/*",
                    "Microsoft.Resources/subscriptions/resourceGroups/read",
                    "Microsoft.Support/*",
                ]
            )
        ],
    ),
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": (
        "User Access Administrator",
        "Lets you manage user access to Azure resources.",
        [_perm(["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"])],
    ),
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": (
        "Role Based Access Control Administrator",
        "Manage access to Azure resources by assigning roles.",
        [
            _perm(
                [
                    "Microsoft.Authorization/roleAssignments/write",
                    "Microsoft.Authorization/roleAssignments/delete",
                    "*/read",
                    "Microsoft.Support/*",
                ]
            )
        ],
    ),
    "f1a07417-d97a-45cb-824c-7a7467783830": (
        "Managed Identity Operator",
        "Read and Assign User Assigned Identity",
        [
            _perm(
                [
                    "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
                    "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
                    "Microsoft.Authorization/*/read",
                    "Microsoft.Resources/subscriptions/resourceGroups/read",
                    "Microsoft.Resources/deployments/*",
                ]
            )
        ],
    ),
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": (
        "Storage Blob Data Reader",
        "Allows for read access to Azure Storage blob containers and data",
        [
            _perm(
                [
                    "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                    "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
                ],
                [],
                ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
            )
        ],
    ),
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": (
        "Storage Blob Data Contributor",
        "Allows for read, write and delete access to Azure Storage blob containers and data",
        [
            _perm(
                [
                    "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
                    "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                    "Microsoft.Storage/storageAccounts/blobServices/containers/write",
                    "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
                ],
                [],
                [
                    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
                    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
                    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
                    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
                    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
                ],
            )
        ],
    ),
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": (
        "Storage Account Contributor",
        "Lets you manage storage accounts, including accessing storage account keys.",
        [
            _perm(
                [
                    "Microsoft.Authorization/*/read",
                    "Microsoft.Insights/alertRules/*",
                    "Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action",
                    "Microsoft.ResourceHealth/availabilityStatuses/read",
                    "Microsoft.Resources/deployments/*",
                    "Microsoft.Resources/subscriptions/resourceGroups/read",
                    "Microsoft.Storage/storageAccounts/*",
                    "Microsoft.Support/*",
                ]
            )
        ],
    ),
}
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


@functools.lru_cache(maxsize=4096)
def _pattern(p: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in p.split("*")) + "$", re.IGNORECASE)


def matches(pattern: str, action: str) -> bool:
    return bool(_pattern(pattern).match(action))


def block_allows(block: dict[str, Any], action: str, data: bool = False) -> bool:
    allow, deny = ("dataActions", "notDataActions") if data else ("actions", "notActions")
    return any(matches(p, action) for p in block.get(allow) or []) and not any(
        matches(p, action) for p in block.get(deny) or []
    )


def builtin_definition(guid: str, subscription: str | None) -> dict[str, Any] | None:
    entry = BUILTIN_ROLES.get(guid.lower())
    if entry is None:
        return None
    name, description, perms = entry
    prefix = f"/subscriptions/{subscription}" if subscription else ""
    return {
        "id": f"{prefix}/providers/Microsoft.Authorization/roleDefinitions/{guid.lower()}",
        "name": guid.lower(),
        "type": ROLE_DEFINITIONS,
        "properties": {
            "roleName": name,
            "type": "BuiltInRole",
            "description": description,
            "assignableScopes": ["/"],
            "permissions": perms,
            "createdOn": "2015-02-02T21:55:09.8806423Z",
            "updatedOn": "2024-01-01T00:00:00.0000000Z",
        },
    }


class Rbac:
    """Effective permissions. ``propagation``: how many of a resource provider's permission checks a role
    assignment made over HTTP stays invisible to them (0: at once). Azure documents that role assignment
    changes can take up to 10 minutes to be detected, longer for managed identities' cached tokens:
    https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected
    The caller's own requests see new assignments at once (what ARM evaluates for a fresh token; a guess
    that keeps seeding simple). ``rp=True`` asks as a resource provider does (Image Builder for its identity).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.propagation = 0
        self.pending: dict[str, int] = {}  # lower-case assignment id -> provider checks it stays unseen

    def created(self, assignment_id: str) -> None:
        """An assignment was made over HTTP: unseen by providers for ``propagation`` checks."""
        if self.propagation > 0:
            self.pending[assignment_id.lower()] = self.propagation

    def checked(self) -> None:
        """A provider finished one round of checks: pending assignments come one round closer."""
        for key in list(self.pending):
            self.pending[key] -= 1
            if self.pending[key] <= 0:
                del self.pending[key]

    def role_definition(self, role_definition_id: str, subscription: str | None = None) -> dict[str, Any] | None:
        """Resolve a role definition by its ID (any scope prefix) or bare GUID."""
        guid = ids.name_of(role_definition_id).lower()
        for res in self.store.of_type(ROLE_DEFINITIONS):
            if res.name.lower() == guid:
                return res.body
        return builtin_definition(guid, subscription or ids.subscription_of(role_definition_id))

    def assignments(
        self, principal_id: str | None = None, scope: str | None = None, *, at_or_above: bool = False
    ) -> list[Resource]:
        out = []
        for ra in self.store.of_type(ROLE_ASSIGNMENTS):
            p = ra.properties
            if principal_id and p.get("principalId", "").lower() != principal_id.lower():
                continue
            if scope is not None and at_or_above and not ids.contains(p["scope"], scope):
                continue
            out.append(ra)
        return out

    def permission_blocks(self, principal_id: str, scope: str, rp: bool = False) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        for ra in self.assignments(principal_id, scope, at_or_above=True):
            if rp and ra.id.lower() in self.pending:
                continue
            role = self.role_definition(ra.properties["roleDefinitionId"], ids.subscription_of(scope))
            if role:
                blocks.extend(role["properties"].get("permissions") or [])
        return blocks

    def allowed(self, principal_id: str, scope: str, action: str, data: bool = False, rp: bool = False) -> bool:
        return any(block_allows(b, action, data) for b in self.permission_blocks(principal_id, scope, rp))

    def missing(self, principal_id: str, scope: str, actions: Iterable[str], rp: bool = False) -> list[str]:
        return [a for a in actions if not self.allowed(principal_id, scope, a, rp=rp)]

    def holds_role(self, principal_id: str, scope: str, role_guids: Iterable[str], rp: bool = False) -> bool:
        """Whether an assignment at or above scope gives principal one of these roles (by definition GUID)."""
        wanted = {g.lower() for g in role_guids}
        return any(
            ids.name_of(ra.properties["roleDefinitionId"]).lower() in wanted
            and not (rp and ra.id.lower() in self.pending)
            for ra in self.assignments(principal_id, scope, at_or_above=True)
        )
