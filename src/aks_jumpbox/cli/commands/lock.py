"""`aks-jumpbox lock`: the only command that needs the internet (or the mirror)."""

from __future__ import annotations

from pathlib import Path

import click

from aks_jumpbox.cli.context import resolve_inputs
from aks_jumpbox.cli.present import lock_option, spec_option
from aks_jumpbox.core.lock import DEFAULT_LOCK_NAME


@click.command("lock")
@spec_option
@lock_option
def command(spec_path: str | None, lock_path: str | None) -> None:
    """Resolve every pinned tool's URL and SHA-256 from its upstream checksum file.

    With mirror.artifacts set, the checksum files are read from the mirror. Writes
    jumpbox.lock.json beside the spec (or --lock); a digest that changed for the same URL is refused.
    """
    from aks_jumpbox.adapters.http import fetch_text
    from aks_jumpbox.core.catalog import load_catalog
    from aks_jumpbox.core.resolve import resolve_lock

    inputs = resolve_inputs(spec_path, lock_path)
    target = Path(lock_path) if lock_path else (inputs.spec_path.parent if inputs.spec_path else Path(".")) / DEFAULT_LOCK_NAME
    resolution = resolve_lock(inputs.spec, load_catalog(), inputs.lock, fetch_text)
    text = resolution.lock.dumps()
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    for line in resolution.changes:
        click.echo(f"  {line}")
    click.echo(f"wrote {target} ({len(inputs.spec.tools)} tools)")
