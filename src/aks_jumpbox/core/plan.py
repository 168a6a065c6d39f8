"""The plan: a pure, deterministic function of spec + lock.

It lists the Azure resources in dependency order, the tool artifacts with their digests, the
scripts the build VM runs and the network contract the build needs. Same inputs give a
byte-identical plan; names that must be stable derive from content, never from the clock.
"""

from __future__ import annotations

from typing import Any

from aks_jumpbox import __version__
from aks_jumpbox.core import kinds
from aks_jumpbox.core.catalog import Catalog, sibling_url, url_basename, url_host
from aks_jumpbox.core.errors import Problem, SpecError
from aks_jumpbox.core.extensions import mirror_path as extension_mirror_path
from aks_jumpbox.core.footprint import footprint_key
from aks_jumpbox.core.gallery import VERSION_PLACEHOLDER, content_version, gallery_plan, gallery_resources
from aks_jumpbox.core.kinds import GALLERY_ACTIONS, role_actions
from aks_jumpbox.core.lock import Lock
from aks_jumpbox.core.mirror import mirror_url
from aks_jumpbox.core.model import (
    AptPlan,
    AzureCliPlan,
    ExtensionWheel,
    GalleryPlan,
    Names,
    Plan,
    Ref,
    Resource,
    ToolArtifact,
)
from aks_jumpbox.core.naming import (
    SPEC_TAG,
    content_hash,
    identity_name,
    image_name,
    role_name,
    stable_guid,
    template_name,
)
from aks_jumpbox.core.network import egress_rules, network_contract
from aks_jumpbox.core.resource_ids import resource_group_id, resource_id, subscription_scope
from aks_jumpbox.core.scripts import inline_wrapper, render_provision, render_validate, with_plan_hash
from aks_jumpbox.core.spec import Spec, azure_facts

# The data model lives in core/model.py, the roles in core/kinds.py; their names stay importable here.
__all__ = [
    "GALLERY_ACTIONS",
    "GENERATOR",
    "HASH_TAG",
    "AptPlan",
    "AzureCliPlan",
    "GalleryPlan",
    "Names",
    "Plan",
    "Ref",
    "Resource",
    "ToolArtifact",
    "build_plan",
    "role_actions",
]

GENERATOR = f"aks-jumpbox {__version__}"
HASH_TAG = "aks-jumpbox.plan-hash"


def _lock_problem(spec_label: str, name: str, version: str, arch: str, lock_label: str, lock: Lock) -> Problem:
    entry = lock.get(name, version)
    if entry is not None:  # locked, but not for the spec's architecture
        have = ", ".join(sorted(entry.artifacts)) or "no architecture"
        return Problem(
            spec_label,
            None,
            f"tools.{name}",
            f"version {version} is locked in {lock_label} for {have} only, not for {arch}; "
            "run `aks-jumpbox lock` to resolve it",
        )
    locked = sorted(lock.tools.get(name, {}))
    have = f" (locked: {', '.join(locked)})" if locked else ""
    return Problem(
        spec_label,
        None,
        f"tools.{name}",
        f"version {version} is not in {lock_label}{have}; run `aks-jumpbox lock` to resolve it",
    )


def _lock_field(name: str, lock: Lock, version: str, arch: str) -> str:
    """Where a tool's artifact is in the lock file (entries are written in version order)."""
    versions = sorted(lock.tools.get(name, {}), key=lambda v: tuple(int(p) for p in v.split(".")))
    return f"tools.{name}[{versions.index(version)}].artifacts.{arch}.url"


def _artifacts(spec: Spec, lock: Lock, catalog: Catalog, spec_label: str, lock_label: str) -> tuple[ToolArtifact, ...]:
    problems: list[Problem] = []
    out: list[ToolArtifact] = []
    arch = spec.architecture
    for name in sorted(spec.tools):
        pin = spec.tools[name]
        tool = catalog.tool(name)
        entry = lock.get(name, pin.version)
        if entry is None or arch not in entry.artifacts:
            problems.append(_lock_problem(spec_label, name, pin.version, arch, lock_label, lock))
            continue
        locked = entry.artifacts[arch]
        if locked.mirror_base is not None and locked.mirror_base != spec.mirror.artifacts:
            problems.append(
                Problem(
                    lock_label,
                    None,
                    _lock_field(name, lock, pin.version, arch),
                    f"names the mirror {locked.mirror_base}, but the spec's mirror.artifacts is "
                    f"{spec.mirror.artifacts or 'not set'}; set mirror.artifacts to it, or regenerate the lock with "
                    "`aks-jumpbox lock`",
                )
            )
            continue
        try:
            file_name = url_basename(locked.url)
            url_basename(locked.checksum_url)
            catalog_order = tool.checksum_order_file_url(pin.version, arch)
            order_url = sibling_url(locked.checksum_url, url_basename(catalog_order)) if catalog_order else None
        except ValueError as exc:  # a Lock built in code, without parse_lock's checks
            problems.append(Problem(lock_label, None, _lock_field(name, lock, pin.version, arch), str(exc)))
            continue
        if spec.mirror.artifacts:
            base = spec.mirror.artifacts
            url = mirror_url(base, name, pin.version, arch, locked.url)
            checksum_url = mirror_url(base, name, pin.version, arch, locked.checksum_url)
            order_url = mirror_url(base, name, pin.version, arch, order_url) if order_url else None
        else:
            url, checksum_url = locked.url, locked.checksum_url
        out.append(
            ToolArtifact(
                name=name,
                version=pin.version,
                arch=arch,
                url=url,
                upstream_url=locked.url,
                sha256=locked.sha256,
                digest_source=locked.source,
                checksum_url=checksum_url,
                checksum_order_url=order_url,
                checksum_format=tool.checksum_format,
                archive=tool.archive,
                member=tool.archive_member(pin.version, arch),
                file_name=file_name,
                install_path=tool.install,
                version_command=tool.version.command,
                version_regex=tool.version.regex,
                license=tool.license,
                homepage=tool.homepage,
                deprecated=tool.deprecated,
                override=locked.override,
            )
        )
    if problems:
        raise SpecError(problems)
    return tuple(out)


def _azure_cli(spec: Spec, lock: Lock, catalog: Catalog, spec_label: str, lock_label: str) -> AzureCliPlan:
    cli = catalog.azure_cli
    image = catalog.base_images[spec.base_image]
    if lock.azure_cli_versions and spec.azure_cli.version not in lock.azure_cli_versions:
        raise SpecError(
            [
                Problem(
                    spec_label,
                    None,
                    "azure_cli.version",
                    f"version {spec.azure_cli.version} is not in {lock_label} (locked: "
                    f"{', '.join(lock.azure_cli_versions)}); run `aks-jumpbox lock` to resolve it",
                )
            ]
        )
    m = spec.mirror
    wheels = _extension_wheels(spec, lock, spec_label, lock_label)
    return AzureCliPlan(
        version=spec.azure_cli.version,
        apt_version=cli.apt_version(spec.azure_cli.version, image.codename),
        package=cli.package,
        repo_url=m.azure_cli_repo or cli.repo_url,
        key_url=m.azure_cli_key_url or cli.key_url,
        key_fingerprints=m.azure_cli_key_fingerprints or cli.key_fingerprints,
        extensions=tuple((w.name, w.version) for w in wheels),
        wheels=wheels,
        version_regex=cli.version.regex,
        license=cli.license,
        homepage=cli.homepage,
    )


def _extension_wheels(spec: Spec, lock: Lock, spec_label: str, lock_label: str) -> tuple[ExtensionWheel, ...]:
    """Each extension of the spec as the lock pins it: the spec's version, or (none named) the newest locked.
    A lock without the pin (one written before extensions were pinned) is an error: the build would otherwise
    install whatever the index holds on build day."""
    problems: list[Problem] = []
    out: list[ExtensionWheel] = []
    for i, ext in enumerate(spec.azure_cli.extensions):
        locked = lock.extension_versions(ext.name)
        version = ext.version or (locked[-1] if locked else None)
        entry = lock.extensions.get(ext.name, {}).get(version) if version else None
        if entry is None:
            have = f" (locked: {', '.join(locked)})" if locked else " (it pins no version of it)"
            what = f"{ext.name} {ext.version}" if ext.version else ext.name
            problems.append(
                Problem(
                    spec_label,
                    None,
                    f"azure_cli.extensions.{i}",
                    f"Azure CLI extension {what} is not pinned in {lock_label}{have}; run "
                    "`aks-jumpbox lock` to pin its wheel and SHA-256",
                )
            )
            continue
        try:
            file_name = url_basename(entry.url)
        except ValueError as exc:  # a Lock built in code, without parse_lock's checks
            problems.append(Problem(lock_label, None, f"azureCli.extensions.{ext.name}", str(exc)))
            continue
        base = spec.mirror.artifacts
        url = f"{base.rstrip('/')}/{extension_mirror_path(ext.name, entry.version, entry.url)}" if base else entry.url
        out.append(
            ExtensionWheel(
                name=ext.name,
                version=entry.version,
                url=url,
                upstream_url=entry.url,
                sha256=entry.sha256,
                file_name=file_name,
                digest_source=entry.source,
            )
        )
    if problems:
        raise SpecError(problems)
    return tuple(out)


def _apt(spec: Spec, catalog: Catalog) -> AptPlan:
    image = catalog.base_images[spec.base_image]
    archive = spec.mirror.apt
    security = spec.mirror.apt_security or archive
    hosts = tuple(sorted({url_host(u) for u in (archive, security) if u})) if archive else image.apt_hosts
    return AptPlan(family=image.family, codename=image.codename, archive=archive, security=security, hosts=hosts)


def _named_by_guid(
    kind: kinds.Kind,
    key: str,
    scope: str,
    guid: str,
    *,
    body: dict[str, Any],
    depends_on: tuple[str, ...],
    purpose: str,
) -> Resource:
    """A resource of `kind` at `scope` whose name is a stable GUID (role definitions and assignments)."""
    return Resource(
        key=key,
        type=kind.arm_type,
        name=guid,
        api_version=kind.api_version,
        id=f"{scope}/providers/{kind.arm_type}/{guid}",
        level=kind.level,
        scope=scope,
        body=body,
        depends_on=depends_on,
        purpose=purpose,
    )


def _role_definitions(spec: Spec, sub: str, key: str) -> list[Resource]:
    """The custom roles, named (GUID and roleName) by the footprint key: they take no tags (core/kinds.py)."""
    kind = kinds.ROLE_DEFINITION
    scope = subscription_scope(sub)
    actions = role_actions(spec)
    out = []
    for role in kinds.ROLES:
        out.append(
            _named_by_guid(
                kind,
                role.key,
                scope,
                stable_guid(scope, key, role.slug),
                body={
                    "properties": {
                        "roleName": role_name(role.title, key, sub),
                        "description": role.description,
                        "type": "CustomRole",
                        "permissions": [
                            {"actions": actions[role.kind], "notActions": [], "dataActions": [], "notDataActions": []}
                        ],
                        "assignableScopes": [scope],
                    }
                },
                depends_on=(),
                purpose=f"custom role: {role.title}",
            )
        )
    return out


def _role_definition_id(spec: Spec, sub: str, declared: kinds.Assignment, custom: dict[str, Resource]) -> str:
    if declared.role is None:
        if declared.builtin_role is None:
            raise ValueError(f"core/kinds.py: {declared.key} names neither a role nor a built-in role")
        builtin = declared.builtin_role
    elif spec.identity.roles == "custom":
        return custom[f"role.{declared.role}"].id
    else:
        builtin = azure_facts()["builtin_roles"][declared.role]["id"]
    return f"{subscription_scope(sub)}/providers/{kinds.ROLE_DEFINITION.arm_type}/{builtin}"


def _assignments(
    spec: Spec, sub: str, identity: Resource, custom: dict[str, Resource], galleries: list[Resource]
) -> list[Resource]:
    """The plan's role assignments, one per declaration in core/kinds.py that applies to the spec."""
    kind = kinds.ROLE_ASSIGNMENT
    out = []
    for declared in kinds.ASSIGNMENTS:
        scope = declared.scope(spec, sub)
        if scope is None:
            continue
        role_id = _role_definition_id(spec, sub, declared, custom)
        depends: tuple[str, ...] = (identity.key,)
        if declared.role is not None and f"role.{declared.role}" in custom:
            depends += (f"role.{declared.role}",)
        if declared.after_gallery:
            depends += tuple(r.key for r in galleries)
        out.append(
            _named_by_guid(
                kind,
                declared.key,
                scope,
                stable_guid(scope, identity.id, role_id),
                body={
                    "properties": {
                        "roleDefinitionId": role_id,
                        "principalId": Ref(identity.key, "properties.principalId"),
                        "principalType": "ServicePrincipal",
                        "description": declared.description,
                    }
                },
                depends_on=depends,
                purpose=declared.description,
            )
        )
    return out


def _customizer(name: str, script_name: str, script: str) -> dict[str, Any]:
    return {"type": "Shell", "name": name, "inline": inline_wrapper(script_name, script)}


def _distribute(
    spec: Spec, key: str, image_id: str | None, gallery: GalleryPlan | None, plan_hash: str | None = None
) -> list[dict[str, Any]]:
    tags = {"source": "aks-jumpbox", "baseImage": spec.base_image, SPEC_TAG: key}
    if plan_hash is not None:  # absent from the draft the hash is computed from
        tags[HASH_TAG] = plan_hash  # so `versions` can tell an image's content from the image alone
    out: list[dict[str, Any]] = []
    if spec.distribute.managed_image is not None:
        out.append(
            {
                "type": "ManagedImage",
                "runOutputName": "managedImage",
                "imageId": image_id,
                "location": (spec.distribute.managed_image.location or spec.build.location),
                "artifactTags": tags,
            }
        )
    if gallery is not None:
        out.append(
            {
                "type": "SharedImage",
                "runOutputName": "galleryImage",
                "galleryImageId": gallery.version_id,
                "targetRegions": [
                    {"name": n, "replicaCount": c, "storageAccountType": t} for n, c, t in gallery.target_regions
                ],
                "excludeFromLatest": gallery.exclude_from_latest,
                "artifactTags": tags,
            }
        )
    return out


def _template_body(
    spec: Spec,
    key: str,
    catalog: Catalog,
    identity: Resource,
    scripts: dict[str, str],
    image_id: str | None,
    sub: str,
    gallery: GalleryPlan | None = None,
    plan_hash: str | None = None,
) -> dict[str, Any]:
    b = spec.build
    image = catalog.base_images[spec.base_image]
    vnet: dict[str, Any] = {"subnetId": str(b.subnet)}
    if b.container_subnet is not None:
        vnet["containerInstanceSubnetId"] = str(b.container_subnet)
    elif b.proxy_vm_size:
        vnet["proxyVmSize"] = b.proxy_vm_size
    props: dict[str, Any] = {
        "buildTimeoutInMinutes": b.timeout_minutes,
        "vmProfile": {"vmSize": b.vm_size, "osDiskSizeGB": b.os_disk_size_gb, "vnetConfig": vnet},
        "source": {
            "type": "PlatformImage",
            "publisher": image.publisher,
            "offer": image.offer,
            "sku": image.skus[spec.architecture],
            "version": "latest",
        },
        "customize": [_customizer("aks-jumpbox provision", "provision.sh", scripts["provision.sh"])],
        "validate": {
            "continueDistributeOnFailure": False,
            "sourceValidationOnly": False,
            "inVMValidations": [_customizer("aks-jumpbox validate", "validate.sh", scripts["validate.sh"])],
        },
        "distribute": _distribute(spec, key, image_id, gallery, plan_hash),
        "errorHandling": {"onCustomizerError": b.on_customizer_error, "onValidationError": b.on_validation_error},
        # On the staging group and what Image Builder makes in it.
        "managedResourceTags": {"aks-jumpbox.template": "managed", SPEC_TAG: key},
    }
    if b.staging_resource_group:
        props["stagingResourceGroup"] = resource_group_id(sub, b.staging_resource_group)
    return {
        "location": b.location,
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {identity.id: {}}},
        "properties": props,
    }


def build_plan(
    spec: Spec, lock: Lock, *, spec_label: str = "jumpbox.yaml", lock_label: str = "jumpbox.lock.json", catalog: Catalog
) -> Plan:

    sub = spec.subscription
    artifacts = _artifacts(spec, lock, catalog, spec_label, lock_label)
    azure_cli = _azure_cli(spec, lock, catalog, spec_label, lock_label)
    apt = _apt(spec, catalog)
    scripts = {
        "provision.sh": render_provision(spec, artifacts, azure_cli, apt),
        "validate.sh": render_validate(spec, artifacts, azure_cli),
    }
    build_rg = spec.build.resource_group
    key = footprint_key(spec)
    identity_id_name = spec.identity.name or identity_name(key)
    # Every resource that takes tags carries the footprint key (the user's tags cannot replace it).
    tags = {**dict(sorted(spec.tags.items())), SPEC_TAG: key}
    identity = Resource(
        key="identity",
        type=kinds.IDENTITY.arm_type,
        name=identity_id_name,
        api_version=kinds.IDENTITY.api_version,
        id=resource_id(sub, build_rg, kinds.IDENTITY.arm_type, identity_id_name),
        level=kinds.IDENTITY.level,
        scope=resource_group_id(sub, build_rg),
        body={"location": spec.build.location, "tags": tags, "properties": {}},
        depends_on=(),
        purpose="the identity Image Builder builds and distributes with",
    )
    custom = {r.key: r for r in _role_definitions(spec, sub, key)} if spec.identity.roles == "custom" else {}
    managed = spec.distribute.managed_image
    gallery_spec = spec.distribute.gallery
    galleries = gallery_resources(spec, catalog, sub, tags)
    assignments = _assignments(spec, sub, identity, custom, galleries)
    target = managed or gallery_spec
    assert target is not None  # the spec's Distribute requires managed_image or gallery
    dest_rg = target.resource_group
    # The content hash names the template and image; compute it with placeholder names.
    placeholder = resource_id(sub, dest_rg, "Microsoft.Compute/images", "__IMAGE__") if managed else None
    draft_gallery = gallery_plan(spec, sub, gallery_spec.version or VERSION_PLACEHOLDER) if gallery_spec else None
    draft = _template_body(spec, key, catalog, identity, scripts, placeholder, sub, draft_gallery)
    hashed: dict[str, Any] = {"template": draft, "generator": "aks-jumpbox/plan/v1"}
    if gallery_spec is not None:
        hashed["galleryVersion"] = gallery_spec.version
    digest = content_hash(hashed)
    tname = template_name(key, digest)
    scripts = {name: with_plan_hash(text, digest) for name, text in scripts.items()}
    image = (managed.name if managed else None) or image_name(key, digest)
    gallery = gallery_plan(spec, sub, gallery_spec.version or content_version(digest)) if gallery_spec else None
    body = _template_body(
        spec,
        key,
        catalog,
        identity,
        scripts,
        resource_id(sub, dest_rg, "Microsoft.Compute/images", image) if managed else None,
        sub,
        gallery,
        digest,
    )
    body["tags"] = {**tags, HASH_TAG: digest, "aks-jumpbox.generator": GENERATOR}
    template = Resource(
        key="template",
        type=kinds.TEMPLATE.arm_type,
        name=tname,
        api_version=kinds.TEMPLATE.api_version,
        id=resource_id(sub, build_rg, kinds.TEMPLATE.arm_type, tname),
        level=kinds.TEMPLATE.level,
        scope=resource_group_id(sub, build_rg),
        body=body,
        depends_on=("identity", *(a.key for a in assignments), *(r.key for r in galleries)),
        purpose="the image template (immutable; named by its content hash)",
    )
    resources = (*custom.values(), identity, *galleries, *assignments, template)
    warnings = tuple(f"tools.{a.name}: {a.deprecated}" for a in artifacts if a.deprecated)
    warnings += tuple(
        f"tools.{a.name}: {lock_label} overrides the catalog's URL, fetching {a.upstream_url} "
        f"(override: {a.override}); its digest is still verified"
        for a in artifacts
        if a.override
    )
    warnings += tuple(
        f"tools.{a.name}: no SHA-256 is pinned in {lock_label} ({a.digest_source.split(':')[0]}); the build "
        f"verifies it against the upstream checksum file {a.checksum_url}; run `aks-jumpbox lock` online to pin it"
        for a in artifacts
        if a.sha256 is None
    )
    if spec.identity.roles == "builtin":
        warnings += (
            "identity.roles: builtin assigns Network Contributor and Contributor, far more than Image "
            "Builder needs; prefer custom least-privilege roles",
        )
    names = Names(
        spec=key,
        template=tname,
        image=image,
        identity=identity_id_name,
        network_role=custom["role.network"].name if custom else "",
        image_role=custom["role.image"].name if custom else "",
    )
    network = network_contract(spec, egress_rules(spec, artifacts, azure_cli, apt, catalog))
    return Plan(
        spec=spec,
        hash=digest,
        names=names,
        subscription=sub,
        artifacts=artifacts,
        azure_cli=azure_cli,
        apt=apt,
        resources=resources,
        network=network,
        scripts=scripts,
        warnings=warnings,
        gallery=gallery,
    )
