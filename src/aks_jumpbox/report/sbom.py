"""A CycloneDX 1.6 SBOM of the image, built with the CycloneDX library from the software report.

Deterministic: the serial number derives from the report's content, and the timestamp is the
build's (from its log) or one the caller passes (SOURCE_DATE_EPOCH); without either it is left
out, since the schema makes it optional and the clock would make two runs differ.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

from cyclonedx import spdx
from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, Property, XsUri
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from aks_jumpbox import __version__
from aks_jumpbox.core.naming import NAMESPACE, content_hash

GITHUB_RELEASE = re.compile(r"^https://github\.com/([^/]+)/([^/]+)/releases/download/([^/]+)/")
PROP = "aks-jumpbox"


def _licenses(value: str | None) -> list:
    if not value:
        return []
    if spdx.is_supported_id(value):
        return [DisjunctiveLicense(id=value)]
    return [LicenseExpression(value)] if spdx.is_expression(value) else [DisjunctiveLicense(name=value)]


def tool_purl(name: str, version: str, source: str) -> PackageURL:
    """pkg:github for GitHub release assets, else pkg:generic with the download URL."""
    from urllib.parse import unquote

    m = GITHUB_RELEASE.match(source)
    if m:
        return PackageURL("github", m.group(1), m.group(2), unquote(m.group(3)))
    return PackageURL("generic", None, name, version, {"download_url": source})


def _tool(t: dict[str, Any]) -> Component:
    refs = [ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(t["source"]))]
    if t.get("homepage"):
        refs.append(ExternalReference(type=ExternalReferenceType.WEBSITE, url=XsUri(t["homepage"])))
    props = [
        Property(name=f"{PROP}:install", value=t["install"]),
        Property(name=f"{PROP}:verification", value=t["verification"]),
    ]
    if t["fetchedFrom"] != t["source"]:
        props.append(Property(name=f"{PROP}:fetched-from", value=t["fetchedFrom"]))
    if t.get("deprecated"):
        props.append(Property(name=f"{PROP}:deprecated", value=t["deprecated"]))
    return Component(
        type=ComponentType.APPLICATION,
        name=t["name"],
        version=t["version"],
        bom_ref=f"tool:{t['name']}",
        purl=tool_purl(t["name"], t["version"], t["source"]),
        licenses=_licenses(t.get("license")),
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=t["sha256"])] if t["sha256"] else [],
        external_references=refs,
        properties=props,
    )


def _azure_cli(report: dict[str, Any]) -> list[Component]:
    cli, base, arch = report["azureCli"], report["baseImage"], report["image"]["architecture"]
    apt_version = cli["installed"] or cli["aptVersion"]
    main = Component(
        type=ComponentType.APPLICATION,
        name=cli["package"],
        version=cli["version"],
        bom_ref="azure-cli",
        purl=PackageURL(
            "deb",
            "microsoft",
            cli["package"],
            apt_version,
            {"arch": arch, "distro": base["codename"], "repository_url": cli["repository"]},
        ),
        licenses=_licenses(cli["license"]),
        external_references=[
            ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(cli["repository"])),
            ExternalReference(type=ExternalReferenceType.WEBSITE, url=XsUri(cli["homepage"])),
        ],
    )
    out = [main]
    for ext in cli["extensions"]:
        props = [] if ext["version"] else [Property(name=f"{PROP}:version", value="newest at build time")]
        out.append(
            Component(
                type=ComponentType.APPLICATION,
                name=ext["name"],
                version=ext["version"],
                group="azure-cli-extension",
                bom_ref=f"azure-cli-extension:{ext['name']}",
                properties=props,
            )
        )
    return out


def _base_image(base: dict[str, Any]) -> Component:
    return Component(
        type=ComponentType.OPERATING_SYSTEM,
        name=base["key"],
        description=base["title"],
        publisher=base["publisher"],
        bom_ref="base-image",
        properties=[
            Property(name="azure:marketplace:urn", value=base["urn"]),
            Property(name=f"{PROP}:end-of-standard-support", value=base["endOfStandardSupport"]),
        ],
    )


def _package(p: dict[str, Any], base: dict[str, Any]) -> Component:
    return Component(
        type=ComponentType.LIBRARY,
        name=p["name"],
        version=p["version"],
        bom_ref=f"apt:{p['name']}:{p['arch']}",
        purl=PackageURL(
            "deb", base["family"], p["name"], p["version"], {"arch": p["arch"], "distro": base["codename"]}
        ),
    )


def build_sbom(report: dict[str, Any], timestamp: dt.datetime | None = None) -> Bom:
    base = report["baseImage"]
    finished = (report.get("build") or {}).get("finishedAt")
    when = dt.datetime.fromisoformat(finished.replace("Z", "+00:00")) if finished else timestamp
    image = Component(
        type=ComponentType.OPERATING_SYSTEM,
        name=report["image"]["name"],
        version=report["image"].get("galleryVersion") or report["image"]["planHash"][:12],
        bom_ref="image",
        description=f"AKS jump box image on {base['title']}",
        properties=[
            Property(name=f"{PROP}:plan-hash", value=report["image"]["planHash"]),
            Property(name=f"{PROP}:image-template", value=report["image"]["template"]),
        ],
    )
    meta = BomMetaData(component=image, timestamp=when)
    meta.tools.components.add(Component(type=ComponentType.APPLICATION, name="aks-jumpbox", version=__version__))
    bom = Bom(serial_number=uuid.uuid5(NAMESPACE, content_hash(report)), metadata=meta)
    components = [_base_image(base), *_azure_cli(report), *(_tool(t) for t in report["tools"])]
    components += [_package(p, base) for p in report["packages"] or ()]
    cli_package = report["azureCli"]["package"]
    # azure-cli is listed once, as the CLI (the apt package of the same name is that component).
    components = [c for c in components if not (c.bom_ref.value or "").startswith(f"apt:{cli_package}:")]
    for c in components:
        bom.components.add(c)
    bom.register_dependency(image, components)
    return bom


def sbom_json(report: dict[str, Any], timestamp: dt.datetime | None = None) -> str:
    bom = build_sbom(report, timestamp)
    doc = json.loads(JsonV1Dot6(bom).output_as_string())
    if timestamp is None and not (report.get("build") or {}).get("finishedAt"):
        doc["metadata"].pop("timestamp", None)  # the library always stamps "now"; see the module docstring
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
