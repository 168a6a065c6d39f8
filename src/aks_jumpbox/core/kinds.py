"""One declaration per Azure resource kind: everything aks-jumpbox knows about a type, as data.

A `Kind` says, for one ARM type: its api-version, how `deploy` writes it, where the rendered ARM
templates place it, whether and when `cleanup` deletes it, how people see it, and what preflight
reads of it. An `Assignment` says, for one role assignment the plan makes: on what, with which role,
what preflight checks the identity holds there, and what failing that costs.

The plan builder, the renderers, apply / what-if, cleanup, the progress view and the preflight
prefetch read these; none of them tests a type or a key by itself. A new resource kind is one
declaration here plus its tests. Only names and strings live here: azure/resources.py maps `client`
to SDK operations, so this module (like all of core/) never imports the SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from aks_jumpbox.core.resource_ids import resource_group_id, resource_id
from aks_jumpbox.core.spec import Spec

# How `deploy` treats a live resource that exists:
#   update            PUT again when it differs from the plan
#   create-if-absent  never rewritten once it exists (it holds things the plan does not own)
#   immutable         named by its content hash; same name, other content is a conflict; tags PATCH-able
#   replace           cannot be updated in place: delete, then create
#   none              never written by deploy (rendered only, or made by Image Builder)
Write = Literal["update", "create-if-absent", "immutable", "replace", "none"]
# Where a rendered template places it: a top-level resource of its template; "shared": in one nested
# deployment per resource group, with the other shared resources of that group; "own": in a nested
# deployment of its own, into its scope's resource group (the scope set when below the group).
Nesting = Literal["none", "shared", "own"]

SUBSCRIPTION_JSON = "arm/subscription.json"
RESOURCE_GROUP_JSON = "arm/resource-group.json"
# The network contract in two templates, as hub-and-spoke networks split ownership: the spoke's NSGs (the
# VNet's resource group) and the hub's firewall policy rule collection group (the hub's group).
NETWORK_SPOKE_JSON = "arm/network-spoke.json"
NETWORK_HUB_JSON = "arm/network-hub.json"


@dataclass(frozen=True)
class Kind:
    arm_type: str
    api_version: str  # checked against data/azure.yaml by tests/unit/test_kinds.py
    label: str  # how people see it: progress lines, the cleanup table
    # Where a planned one lives (plan.json's `level`): "subscription", "resourceGroup", or "extension"
    # (an extension resource on the resource at its scope). "": never planned.
    level: str = ""
    write: Write = "none"
    client: str = "by_id"  # which SDK operations read/write it (azure/resources.py maps the name)
    template: str | None = None  # the rendered file that holds it; None: not rendered
    nesting: Nesting = "none"
    # Of its nested deployment: format(key=<plan key>, name=<resource name>, spec=<footprint key>); at most
    # 64 characters (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftresources)
    deployment_name: str | None = None
    cleanup: int | None = None  # position in cleanup, lower first; None: cleanup never deletes it
    title: str | None = None  # a body path naming it better than its name (a custom role's roleName)
    named_by_guid: bool = False  # its name says nothing to people: show its purpose beside it
    waits_for_principal: bool = False  # creation retries while a new identity replicates
    preflight_get: bool = False  # preflight reads the planned resource at once (prefetch)
    preflight_permissions: bool = False  # preflight reads the caller's permissions at its scope
    # It takes tags: then it carries the spec's footprint key in the aks-jumpbox.spec tag (core/naming.py),
    # and whose it is is read from that tag; else from its name (core/footprint.py).
    tags: bool = True


# Role definitions and role assignments take no tags: "Supports tags: No" for both in
# https://learn.microsoft.com/azure/azure-resource-manager/management/tag-support#microsoftauthorization
# (and their template references, https://learn.microsoft.com/azure/templates/microsoft.authorization/roledefinitions
# and .../roleassignments, list no `tags`). So they are told apart by their scoped names: a role's GUID and
# roleName derive from the spec's footprint key, an assignment's GUID from its identity and role.

# Role definitions can be updated in place; Azure refuses to delete one that is still assigned, so
# they go last (https://learn.microsoft.com/azure/role-based-access-control/troubleshooting).
ROLE_DEFINITION = Kind(
    "Microsoft.Authorization/roleDefinitions",
    "2022-04-01",
    "custom role",
    level="subscription",
    write="update",
    client="role_definitions",
    template=SUBSCRIPTION_JSON,
    cleanup=4,
    title="properties.roleName",
    named_by_guid=True,
    preflight_get=True,
    preflight_permissions=True,
    tags=False,
)
IDENTITY = Kind(
    "Microsoft.ManagedIdentity/userAssignedIdentities",
    "2024-11-30",
    "managed identity",
    level="resourceGroup",
    write="update",
    client="identities",
    template=RESOURCE_GROUP_JSON,
    cleanup=3,
    preflight_get=True,
    preflight_permissions=True,
)
# A gallery and its image definition hold every image built, and an image definition's identity (OS,
# generation, identifier) cannot change: created when absent, never rewritten, never deleted.
GALLERY = Kind(
    "Microsoft.Compute/galleries",
    "2025-03-03",
    "gallery",
    level="resourceGroup",
    write="create-if-absent",
    template=RESOURCE_GROUP_JSON,
    nesting="shared",
    deployment_name="aks-jumpbox-{key}-{spec}",  # one per spec: dev's never replaces prod's
)
GALLERY_IMAGE = Kind(
    "Microsoft.Compute/galleries/images",
    "2025-03-03",
    "gallery image definition",
    level="resourceGroup",
    write="create-if-absent",
    template=RESOURCE_GROUP_JSON,
    nesting="shared",
    deployment_name="aks-jumpbox-{key}-{spec}",  # one per spec: dev's never replaces prod's
)
# Role assignments cannot be updated (RoleAssignmentUpdateNotPermitted): a stale one is replaced. Made
# right after a new identity, they wait for its service principal to replicate (PrincipalNotFound):
# https://learn.microsoft.com/azure/role-based-access-control/role-assignments-template#new-service-principal
ROLE_ASSIGNMENT = Kind(
    "Microsoft.Authorization/roleAssignments",
    "2022-04-01",
    "role assignment",
    level="extension",
    write="replace",
    client="role_assignments",
    template=RESOURCE_GROUP_JSON,
    nesting="own",
    deployment_name="aks-jumpbox-{key}-{name:.8}",
    cleanup=2,
    named_by_guid=True,
    waits_for_principal=True,
    preflight_get=True,
    preflight_permissions=True,
    tags=False,
)
# Image templates cannot be updated but for tags and a few other properties, so each content gets
# its own template, named by the plan hash; deleting one deletes the staging group Image Builder made
# (https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-json#template-deletion). First
# in cleanup: the reverse of creation, and the staging group's role assignment must outlive it.
TEMPLATE = Kind(
    "Microsoft.VirtualMachineImages/imageTemplates",
    "2025-10-01",
    "image template",
    level="resourceGroup",
    write="immutable",
    client="image_templates",
    template=RESOURCE_GROUP_JSON,
    cleanup=1,
    preflight_get=True,
)

# Rendered or read, never planned.
DEPLOYMENT = Kind("Microsoft.Resources/deployments", "2025-04-01", "deployment")  # the nested deployments
NSG = Kind(
    "Microsoft.Network/networkSecurityGroups", "2025-07-01", "network security group", template=NETWORK_SPOKE_JSON
)
# Re-deployed by network-spoke.json (its existing properties kept) to attach the NSG; a subnet has no tags.
SUBNET = Kind(
    "Microsoft.Network/virtualNetworks/subnets", "2025-07-01", "subnet", template=NETWORK_SPOKE_JSON, tags=False
)
RULE_COLLECTION_GROUP = Kind(  # a child of the firewall policy; its template reference lists no tags
    "Microsoft.Network/firewallPolicies/ruleCollectionGroups",
    "2025-07-01",
    "firewall policy rule collection group",
    template=NETWORK_HUB_JSON,
    tags=False,
)
IMAGE = Kind("Microsoft.Compute/images", "2025-04-01", "managed image")  # made by Image Builder
GALLERY_IMAGE_VERSION = Kind("Microsoft.Compute/galleries/images/versions", "2025-03-03", "gallery image version")

KINDS: dict[str, Kind] = {
    k.arm_type: k
    for k in (
        ROLE_DEFINITION,
        IDENTITY,
        GALLERY,
        GALLERY_IMAGE,
        ROLE_ASSIGNMENT,
        TEMPLATE,
        DEPLOYMENT,
        NSG,
        SUBNET,
        RULE_COLLECTION_GROUP,
        IMAGE,
        GALLERY_IMAGE_VERSION,
    )
}


def of(arm_type: str) -> Kind:
    try:
        return KINDS[arm_type]
    except KeyError:
        raise KeyError(f"no declaration for the resource type {arm_type} in core/kinds.py") from None


def cleanup_order() -> list[Kind]:
    """The kinds cleanup deletes, in the order it deletes them."""
    return sorted((k for k in KINDS.values() if k.cleanup is not None), key=lambda k: k.cleanup or 0)


# ---- roles: what the build identity must be able to do

NETWORK_ACTIONS = ["Microsoft.Network/virtualNetworks/read", "Microsoft.Network/virtualNetworks/subnets/join/action"]
IMAGE_ACTIONS = ["Microsoft.Compute/images/read", "Microsoft.Compute/images/write", "Microsoft.Compute/images/delete"]
# What Image Builder needs to write an image version into a gallery (and nothing to promote it:
# promotion is done by whoever runs `aks-jumpbox promote`, not by the build identity).
GALLERY_ACTIONS = [
    "Microsoft.Compute/galleries/read",
    "Microsoft.Compute/galleries/images/read",
    "Microsoft.Compute/galleries/images/versions/read",
    "Microsoft.Compute/galleries/images/versions/write",
]


def role_actions(spec: Spec) -> dict[str, list[str]]:
    """What the build identity must be able to do, per role kind (network, image): the custom roles'
    actions, and what preflight checks the identity's assignments against whichever roles are used."""
    image = IMAGE_ACTIONS + (GALLERY_ACTIONS if spec.distribute.gallery is not None else [])
    return {"network": list(NETWORK_ACTIONS), "image": image}


@dataclass(frozen=True)
class Role:
    """A custom least-privilege role the plan defines (identity.roles: custom)."""

    kind: str  # "network" | "image": its actions are role_actions(spec)[kind]
    slug: str  # names its GUID
    title: str
    description: str

    @property
    def key(self) -> str:
        return f"role.{self.kind}"


ROLES = (
    Role(
        "network",
        "network-joiner",
        "Image Builder Network Joiner",
        "Lets the Azure VM Image Builder identity join its build subnets; assign on the virtual network.",
    ),
    Role(
        "image",
        "image-writer",
        "Image Builder Image Writer",
        "Lets the Azure VM Image Builder identity write the built image; assign on the destination resource group.",
    ),
)


# ---- role assignments: one declaration each


@dataclass(frozen=True)
class Assignment:
    key: str
    description: str  # the assignment's description in Azure, and its purpose in the plan
    scope: Callable[[Spec, str], str | None]  # (spec, subscription) -> scope; None: not in this plan
    when_missing: str  # what it costs when the identity lacks it: when Azure notices
    role: str | None = None  # "network" | "image": the plan's role of that kind (custom or built-in)
    builtin_role: str | None = None  # otherwise: a built-in role definition's GUID
    checks: tuple[str, ...] = ()  # with builtin_role: the actions preflight checks the identity holds
    after_gallery: bool = False  # needs the planned gallery and image definition
    just_in_time: bool = False  # held only while building (azure/jit.py removes it after a build)
    # Its scope is a resource group Image Builder creates when absent, granting the role itself then:
    # deploy leaves it to Image Builder while the group is absent or was made by it (azure/apply.py).
    image_builder_grants: bool = False

    def actions(self, spec: Spec) -> list[str]:
        return role_actions(spec)[self.role] if self.role else list(self.checks)


def _vnet(spec: Spec, sub: str) -> str | None:
    return spec.build.subnet.vnet_id


def _managed_image_group(spec: Spec, sub: str) -> str | None:
    managed = spec.distribute.managed_image
    return resource_group_id(sub, managed.resource_group) if managed is not None else None


def _gallery(spec: Spec, sub: str) -> str | None:
    g = spec.distribute.gallery
    return resource_id(sub, g.resource_group, GALLERY.arm_type, g.name) if g is not None else None


def _staging_group(spec: Spec, sub: str) -> str | None:
    name = spec.build.staging_resource_group
    return resource_group_id(sub, name) if name else None


_AT_DISTRIBUTION = "the build fails at its very end, when it distributes the image, after the whole build ran"

ASSIGNMENTS = (
    Assignment(
        "assignment.network",
        "Image Builder joins its build subnets in this virtual network.",
        _vnet,
        "Image Builder rejects the template when it is created",
        role="network",
    ),
    Assignment(
        "assignment.image",
        "Image Builder writes the built jump box image into this resource group.",
        _managed_image_group,
        _AT_DISTRIBUTION,
        role="image",
        just_in_time=True,
    ),
    Assignment(
        "assignment.gallery",
        "Image Builder writes image versions into this gallery.",
        _gallery,
        _AT_DISTRIBUTION,
        role="image",
        after_gallery=True,
        just_in_time=True,
    ),
    # A staging group given in the spec "cannot be associated with another image template, must be empty
    # (no resources inside), in the same region as the image template, and have either "Contributor" or
    # "Owner" RBAC applied to the identity assigned to the Azure Image Builder image template resource":
    # https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-json#properties-stagingresourcegroup
    # Its role is the built-in Contributor:
    # https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged#contributor
    # Microsoft lists no finer actions; the checked ones stand for it: what Image Builder makes in the
    # group (the staging storage account, build VM and NIC, build container), inferred.
    # A named group that does not exist "will be created with the same name" (the swagger's
    # stagingResourceGroup) and "By default the identity … has the "Contributor" RBAC applied to it in the
    # resource group" (image-builder-json#template-creation-scenarios): then Image Builder grants it.
    Assignment(
        "assignment.staging",
        "Image Builder builds in this staging resource group (Contributor).",
        _staging_group,
        "Image Builder rejects the template when it is created",
        builtin_role="b24988ac-6180-42a0-ab88-20f7382dd24c",
        image_builder_grants=True,
        checks=(
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Storage/storageAccounts/write",
            "Microsoft.Compute/virtualMachines/write",
            "Microsoft.Network/networkInterfaces/write",
            "Microsoft.ContainerInstance/containerGroups/write",
        ),
    ),
)


ASSIGNMENT_BY_KEY = {a.key: a for a in ASSIGNMENTS}


def assignment(key: str) -> Assignment:
    for a in ASSIGNMENTS:
        if a.key == key:
            return a
    raise KeyError(f"no declaration for the role assignment {key} in core/kinds.py")
