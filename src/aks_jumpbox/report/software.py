"""The software report: every tool, where it came from and its digest (JSON and Markdown).

Shaped after GitHub's runner-images reports: one table per kind of software, plain versions.
The JSON form is what `aks-jumpbox diff` compares and what the SBOM is built from.
"""

from __future__ import annotations

from typing import Any

from aks_jumpbox.core.catalog import Catalog
from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.plan import GENERATOR, Plan
from aks_jumpbox.report.buildlog import BuildLog

REPORT_SCHEMA = "aks-jumpbox/software-report/v1"


def _check_log(plan: Plan, log: BuildLog | None, log_label: str) -> None:
    if log is not None and log.plan_hash and log.plan_hash != plan.hash:
        raise UserError(
            f"{log_label} is the log of plan {log.plan_hash[:12]}, but the spec and lock give plan {plan.hash[:12]}.",
            fix="Pass the log of a build of this plan, or the spec and lock that build used.",
        )


def software_report(
    plan: Plan, log: BuildLog | None = None, *, catalog: Catalog, log_label: str = "the build log"
) -> dict[str, Any]:
    """The report as a JSON-ready dict; a pure function of the plan, the catalog and the log."""
    _check_log(plan, log, log_label)
    spec, cli = plan.spec, plan.azure_cli
    base = catalog.base_images[spec.base_image]
    logged = {t.name: t for t in (log.tools if log else ())}
    tools = []
    for a in plan.artifacts:
        # A digest the lock could not pin is still known once the build checked it.
        sha = a.sha256 or (logged[a.name].sha256 if a.name in logged and logged[a.name].version == a.version else None)
        tools.append(
            {
                "name": a.name,
                "version": a.version,
                "arch": a.arch,
                "source": a.upstream_url,
                "fetchedFrom": a.url,
                "sha256": sha,
                "verification": "pinned" if a.sha256 else ("checked-at-build" if sha else "upstream-checksum-file"),
                "install": a.install_path,
                "license": a.license,
                "homepage": a.homepage,
                "deprecated": a.deprecated,
            }
        )
    installed_cli = log.package(cli.package) if log else None
    return {
        "schema": REPORT_SCHEMA,
        "generator": GENERATOR,
        "image": {
            "name": plan.names.image,
            "template": plan.names.template,
            "planHash": plan.hash,
            "architecture": spec.architecture,
            "galleryVersion": plan.gallery.version if plan.gallery else None,
            "galleryImageVersionId": plan.gallery.version_id if plan.gallery else None,
        },
        "baseImage": {
            "key": base.key,
            "title": base.title,
            "publisher": base.publisher,
            "offer": base.offer,
            "sku": base.skus[spec.architecture],
            "urn": base.urn(spec.architecture),
            "family": base.family,
            "codename": base.codename,
            "endOfStandardSupport": base.end_of_standard_support,
        },
        "build": None if log is None else {"finishedAt": log.finished_at, "planHash": log.plan_hash},
        "azureCli": {
            "version": cli.version,
            "package": cli.package,
            "aptVersion": cli.apt_version,
            "installed": installed_cli.version if installed_cli else None,
            "repository": cli.repo_url,
            "license": cli.license,
            "homepage": cli.homepage,
            "extensions": [{"name": n, "version": v} for n, v in cli.extensions],
        },
        "tools": tools,
        "packages": None
        if log is None
        else [{"name": p.name, "version": p.version, "arch": p.arch} for p in log.packages],
    }


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def report_markdown(report: dict[str, Any]) -> str:
    img, base, cli = report["image"], report["baseImage"], report["azureCli"]
    out = [
        f"# {img['name']}",
        "",
        f"- Base image: {base['title']} (`{base['urn']}`), standard support until {base['endOfStandardSupport']}",
        f"- Architecture: {img['architecture']}",
        f"- Plan: `{img['planHash']}` (image template `{img['template']}`)",
    ]
    if img.get("galleryVersion"):
        out.append(f"- Gallery image version: {img['galleryVersion']} (`{img['galleryImageVersionId']}`)")
    build = report["build"]
    if build and build.get("finishedAt"):
        out.append(f"- Built: {build['finishedAt']}")
    out += [f"- Report by {report['generator']}", "", "## Installed Software", "", "### Tools", ""]
    rows = [
        [
            "Azure CLI",
            cli["version"],
            f"apt `{cli['package']}={cli['aptVersion']}` from {cli['repository']}",
            "apt signature (key pinned by fingerprint)",
            cli["license"],
        ]
    ]
    for t in report["tools"]:
        digest = f"`{t['sha256']}`" if t["sha256"] else "checked against the upstream checksum file at build time"
        rows.append([t["name"], t["version"], t["source"], digest, t["license"]])
    out += _table(["Tool", "Version", "Where from", "SHA-256", "Licence"], rows)
    if cli["extensions"]:
        out += ["### Azure CLI extensions", ""]
        out += _table(
            ["Extension", "Version"], [[e["name"], e["version"] or "newest at build time"] for e in cli["extensions"]]
        )
    packages = report["packages"]
    if packages is None:
        out += ["### Apt packages", "", "Not listed: the report was made without a build log (`--log`).", ""]
    else:
        out += [f"### Apt packages ({len(packages)})", ""]
        out += _table(["Package", "Version", "Architecture"], [[p["name"], p["version"], p["arch"]] for p in packages])
    notes = [t for t in report["tools"] if t["deprecated"]]
    if notes:
        out += ["## Deprecations", ""] + [f"- **{t['name']}**: {t['deprecated']}" for t in notes] + [""]
    return "\n".join(out).rstrip("\n") + "\n"
