"""All files a plan renders, as {relative path: text}; byte-identical for the same plan."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aks_jumpbox.core.plan import Plan, Ref
from aks_jumpbox.render.arm import resource_group_template, subscription_template
from aks_jumpbox.render.network import contract_markdown, network_hub_template, network_spoke_template


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, Ref):
        return {"$ref": f"{value.resource_key}#{value.path}"}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan for machines (`plan --output json` and out/plan.json)."""
    return {
        "schema": "aks-jumpbox/plan/v1",
        "hash": plan.hash,
        "subscription": plan.subscription,
        "topology": plan.spec.topology,
        "baseImage": plan.spec.base_image,
        "names": asdict(plan.names),
        "imageId": plan.image_id,
        "resources": [
            {
                "key": r.key,
                "type": r.type,
                "name": r.name,
                "apiVersion": r.api_version,
                "id": r.id,
                "level": r.level,
                "scope": r.scope,
                "dependsOn": list(r.depends_on),
                "purpose": r.purpose,
                "body": _plain(r.body) if r.key != "template" else "(see arm/resource-group.json)",
            }
            for r in plan.resources
        ],
        "artifacts": [
            {
                "name": a.name,
                "version": a.version,
                "arch": a.arch,
                "url": a.url,
                "upstreamUrl": a.upstream_url,
                "sha256": a.sha256,
                "verification": "pinned" if a.sha256 else "upstream-checksum-file-at-build-time",
                "checksumUrl": a.checksum_url,
                "install": a.install_path,
                "license": a.license,
            }
            for a in plan.artifacts
        ],
        "azureCli": {
            "version": plan.azure_cli.version,
            "package": f"{plan.azure_cli.package}={plan.azure_cli.apt_version}",
            "repository": plan.azure_cli.repo_url,
            "keyFingerprints": list(plan.azure_cli.key_fingerprints),
            "extensions": [{"name": n, "version": v} for n, v in plan.azure_cli.extensions],
        },
        "gallery": None
        if plan.gallery is None
        else {
            "imageVersion": plan.gallery.version,
            "versionSource": plan.gallery.version_source,
            "imageVersionId": plan.gallery.version_id,
            "imageDefinitionId": plan.gallery.image_definition_id,
            "galleryId": plan.gallery.gallery_id,
            "excludeFromLatest": plan.gallery.exclude_from_latest,
            "targetRegions": [
                {"name": n, "replicaCount": c, "storageAccountType": t} for n, c, t in plan.gallery.target_regions
            ],
            "createdByPlan": plan.gallery.created,
        },
        "network": plan.network.to_json(),
        "warnings": list(plan.warnings),
    }


def render_files(plan: Plan) -> dict[str, str]:
    return {
        "plan.json": dumps(plan_document(plan)),
        "provision.sh": plan.scripts["provision.sh"],
        "validate.sh": plan.scripts["validate.sh"],
        "arm/subscription.json": dumps(subscription_template(plan)),
        "arm/resource-group.json": dumps(resource_group_template(plan)),
        "arm/network-spoke.json": dumps(network_spoke_template(plan)),
        "arm/network-hub.json": dumps(network_hub_template(plan)),
        "network/contract.json": dumps(plan.network.to_json()),
        "network/contract.md": contract_markdown(plan),
        "network/egress-fqdns.txt": "".join(f"{fqdn}\n" for fqdn in plan.network.fqdns),
    }


def write_files(files: dict[str, str], out: Path) -> list[Path]:
    """Write files under out, all or none, each atomically and never through a link; scripts executable."""
    from aks_jumpbox.adapters.files import write_all

    return write_all(out, files, {rel: 0o755 if rel.endswith(".sh") else 0o644 for rel in files})
