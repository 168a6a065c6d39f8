"""Presentation helpers shared by commands: errors, JSON output, rich consoles."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from aks_jumpbox.core.errors import OperationFailed, SpecError, UserError


def report_error(exc: BaseException) -> int:
    """Print exc for a person and return its exit code (2 bad input, 1 failure)."""
    if isinstance(exc, SpecError):
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        return 2
    if isinstance(exc, UserError):
        click.echo(f"error: {exc}", err=True)
        return 2
    if isinstance(exc, OperationFailed):
        click.echo(f"error: {exc}", err=True)
        return 1
    raise exc


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


output_option = click.option(
    "--output", "-o", "output", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="text for people, json for machines.",
)
spec_option = click.option(
    "--file", "-f", "spec_path", type=click.Path(dir_okay=False), default=None,
    help="The spec. Default: ./jumpbox.yaml if present, else the embedded default.",
)
lock_option = click.option(
    "--lock", "lock_path", type=click.Path(dir_okay=False), default=None,
    help="The lock. Default: jumpbox.lock.json beside the spec if present, else the embedded default.",
)


def _https_feed(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.startswith("https://"):
        raise click.BadParameter(f"{value!r} must be an https:// URL", ctx=ctx, param=param)
    return value.rstrip("/") if value else value


feed_option = click.option(
    "--feed", "feed", envvar="AKS_JUMPBOX_RELEASE_FEED", default=None, metavar="URL", callback=_https_feed,
    help="A mirror of release metadata (for networks that cannot reach the upstream APIs): "
         "https://HOST/PATH is read from URL/HOST/PATH. Default: env AKS_JUMPBOX_RELEASE_FEED, else upstream.",
)
