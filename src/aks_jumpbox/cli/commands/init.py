"""`aks-jumpbox init`: write the embedded default spec and lock for editing."""

from __future__ import annotations

import os
from pathlib import Path

import click

from aks_jumpbox.adapters.files import write_all
from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.lock import DEFAULT_LOCK_NAME, default_lock_text
from aks_jumpbox.core.spec import DEFAULT_SPEC_NAME, default_spec_text


@click.command("init")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Where to write jumpbox.yaml and jumpbox.lock.json.",
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def command(directory: str, force: bool) -> None:
    """Write the default jumpbox.yaml (the upstream image on Ubuntu 24.04) and its lock."""
    target = Path(directory)
    files = {target / DEFAULT_SPEC_NAME: default_spec_text(), target / DEFAULT_LOCK_NAME: default_lock_text()}
    existing = [p for p in files if os.path.lexists(p)]
    if existing and not force:
        raise UserError(
            f"{existing[0]} already exists.", fix="Pass --force to overwrite it, or --dir to write elsewhere."
        )
    for path in write_all(target, {p.name: text for p, text in files.items()}):
        click.echo(f"wrote {path}")
    click.echo("next: edit build.* and distribute.* in jumpbox.yaml, then run `aks-jumpbox plan`")
