"""`aks-jumpbox promote VERSION`: make a validated canary the gallery's latest."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from aks_jumpbox.cli.azure_common import azure_options, connect, json_errors, load_plan, plan_options
from aks_jumpbox.cli.commands.versions import LATEST_RULE, gallery_of, version_json
from aks_jumpbox.cli.present import console, emit_json, esc, output_option
from aks_jumpbox.core.errors import OperationFailed, UserError

EPILOG = (
    f"{LATEST_RULE} Promoting clears excludeFromLatest on the version (and its target regions); it does "
    "not touch other versions. Versions derived from content (0.0.<hash bits>, when the spec names no "
    "distribute.gallery.version) are unique but not ordered, so promote refuses when a higher-numbered "
    "version is still eligible: name versions semantically or by date in the spec, or exclude that version. "
    "A version counts as validated when the image template of its plan hash (tag aks-jumpbox.plan-hash) "
    "still exists, its last run Succeeded and wrote this version, and it gates distribution on in-VM "
    "validation; so promote before `aks-jumpbox cleanup` removes the template. Another spec's version of a "
    "shared image definition (its aks-jumpbox.spec tag) is refused: promote it with that spec."
)


@click.command("promote", epilog=EPILOG)
@click.argument("version")
@plan_options
@azure_options
@click.option("--yes", "-y", is_flag=True, help="Promote without asking.")
@output_option
@json_errors
def command(
    version: str, spec_path: str | None, lock_path: str | None, keep_on_error: bool, azure_args, yes: bool, output: str
) -> None:
    """Make a validated canary VERSION the latest of the gallery image definition.

    Refuses (exit 1) unless the version exists, provisioned and replicated to every target region,
    and was distributed by a build whose in-VM validation passed; refuses (exit 2) another spec's version
    (its aks-jumpbox.spec tag) of a shared image definition."""
    from aks_jumpbox.azure.gallery import Definition, build_evidence, list_versions, promote
    from aks_jumpbox.core.gallery import not_ours
    from aks_jumpbox.core.versions import channel, latest, promotion_blockers, version_key

    if version_key(version) is None:
        raise UserError(
            f"VERSION {version!r} is not a gallery version (MAJOR.MINOR.PATCH, e.g. 2026.6.1).",
            fix="Pick one from `aks-jumpbox versions`.",
        )
    _, plan = load_plan(spec_path, lock_path, keep_on_error)
    definition = Definition.of(gallery_of(plan, spec_path))
    con = console(stderr=output == "json")
    with connect(plan, azure_args) as az:
        versions = list_versions(az, definition) or []
        target = next((v for v in versions if v.name == version), None)
        if target is None:
            known = ", ".join(v.name for v in versions) or "none"
            _refuse(
                output,
                version,
                [f"gallery image {definition.gallery}/{definition.image} has no version {version} (versions: {known})"],
            )
        # Another spec's version (a definition shared by dev and prod): its build evidence is that spec's.
        refusal = not_ours(target, f"{definition.gallery}/{definition.image}", plan.names.spec)
        if refusal is not None:
            raise refusal
        if channel(target, versions) == "latest":
            _done(output, con, target, versions, plan.hash, changed=False)
            return
        blockers = promotion_blockers(target, versions, build_evidence(az, plan, target))
        if blockers:
            _refuse(output, version, blockers)
        if not yes:
            if not sys.stdin.isatty():
                raise UserError(
                    "promote needs confirmation and there is no terminal to ask on.",
                    fix="Pass --yes to promote without asking.",
                )
            click.confirm(
                f"make {version} the latest of {definition.gallery}/{definition.image}?", abort=True, err=True
            )
        after = promote(az, definition, version)
    versions = [after if v.name == version else v for v in versions]
    top = latest(versions)
    if top is None or top.name != version:  # Azure changed under us
        raise OperationFailed(f"{version} was promoted but is not latest; look with `aks-jumpbox versions`.")
    _done(output, con, after, versions, plan.hash, changed=True)


def _refuse(output: str, version: str, reasons: list[str]) -> NoReturn:
    if output == "json":
        emit_json({"promoted": False, "version": version, "refused": reasons})
    raise OperationFailed(
        f"not promoting {version}:\n" + "\n".join(f"  - {r}" for r in reasons) + "\nnothing was changed."
    )


def _done(output: str, con, target, versions, current_hash: str, changed: bool) -> None:
    if output == "json":
        emit_json({"promoted": changed, "version": version_json(target, versions, current_hash)})
    elif changed:
        con.print(f"{esc(target.name)} is now the latest version")
    else:
        con.print(f"{esc(target.name)} is already the latest version; nothing to do")
