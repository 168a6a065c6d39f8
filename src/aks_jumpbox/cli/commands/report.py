"""`aks-jumpbox report`: the SBOM and software report of an image (offline)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import click

from aks_jumpbox.cli.azure_common import AzureArgs, azure_options, connect
from aks_jumpbox.cli.context import resolve_plan
from aks_jumpbox.cli.present import https_argument, lock_option, spec_option
from aks_jumpbox.core.errors import UserError

SBOM_FILE, MARKDOWN_FILE, JSON_FILE = "sbom.cdx.json", "software-report.md", "software-report.json"


# CycloneDX timestamps are ISO 8601 date-times with a four-digit year: 1970-01-01 to 9999-12-31.
MAX_EPOCH = 253_402_300_799


def _source_date_epoch() -> dt.datetime | None:
    """SOURCE_DATE_EPOCH (reproducible-builds.org) fixes the SBOM timestamp when no log gives one.

    The specification asks for ASCII digits only: https://reproducible-builds.org/specs/source-date-epoch/"""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if not raw:
        return None
    fix = "Set it to a whole number of seconds since 1970 (e.g. `git log -1 --format=%ct`) or unset it."
    if not (raw.isascii() and raw.isdigit()):
        raise UserError(f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds since 1970.", fix=fix)
    if len(raw) > 12 or int(raw) > MAX_EPOCH:
        raise UserError(
            f"SOURCE_DATE_EPOCH={raw!r} is after the year 9999, which an SBOM timestamp cannot hold.", fix=fix
        )
    return dt.datetime.fromtimestamp(int(raw), dt.UTC)


@click.command("report")
@spec_option
@lock_option
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="The build's customization.log (or provision.sh output): adds the apt packages installed.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="out/report",
    show_default=True,
    help="Where to write sbom.cdx.json, software-report.md and software-report.json.",
)
@click.option(
    "--upload-to",
    "upload_to",
    default=None,
    metavar="CONTAINER_URL",
    help="Also store the files in a blob container, under <prefix>/<plan hash>/, with Azure AD "
    "(needs Storage Blob Data Contributor): https://<account>.blob.<suffix>/<container>[/<prefix>].",
)
@azure_options
def command(
    spec_path: str | None,
    lock_path: str | None,
    log_path: str | None,
    out_dir: str,
    upload_to: str | None,
    azure_args: AzureArgs,
) -> None:
    """Write the image's CycloneDX SBOM and its software report (Markdown and JSON).

    Without --log, the report lists the base image, Azure CLI and tools from the plan; with the
    build log it also lists every apt package the build installed.
    """
    from aks_jumpbox.render.output import dumps, write_files
    from aks_jumpbox.report.buildlog import parse_build_log
    from aks_jumpbox.report.sbom import sbom_json
    from aks_jumpbox.report.software import report_markdown, software_report

    epoch = _source_date_epoch()  # a bad value stops the command before anything is read or written
    if upload_to is not None:
        from aks_jumpbox.azure.reports import split_container_url

        https_argument("--upload-to", upload_to)  # the reports and a token go there
        try:
            split_container_url(upload_to)
        except ValueError as exc:
            raise UserError(f"--upload-to: {exc}") from None
    if not out_dir.strip():  # e.g. `--out "$OUT"` with OUT unset: not silently the current folder
        raise UserError("--out is empty.", fix="Name a folder, e.g. --out out.")
    inputs, plan = resolve_plan(spec_path, lock_path)
    log = None
    if log_path is not None:
        from aks_jumpbox.adapters.files import LOG_LIMIT, read_input

        # errors="replace": a log may hold any bytes a build printed; only the package lines matter.
        text = read_input(
            log_path,
            what="build log",
            limit=LOG_LIMIT,
            errors="replace",
            label=f"--log {log_path}",
            missing_fix="Download the build's customization.log, or leave out --log.",
        )
        log = parse_build_log(text)
        if not log.packages:
            raise UserError(
                f"--log {log_path}: lists no `==> aks-jumpbox package` lines.",
                fix="Pass the customization.log of a build that ran provision.sh to the end.",
            )
    report = software_report(plan, log, catalog=inputs.catalog, log_label=f"--log {log_path}")
    files = {SBOM_FILE: sbom_json(report, epoch), MARKDOWN_FILE: report_markdown(report), JSON_FILE: dumps(report)}
    write_files(files, Path(out_dir))
    packages = f", {len(report['packages'])} apt packages" if log else ""
    click.echo(f"wrote {', '.join(files)} to {out_dir}/ ({len(report['tools'])} tools{packages})")
    if upload_to is not None:
        from aks_jumpbox.azure.reports import upload_reports

        with connect(plan, azure_args) as az:
            for url in upload_reports(az, upload_to, plan.hash, files):
                click.echo(f"uploaded {url}")
