"""`aks-jumpbox mirror sync`: fill an artifact mirror from the lock, verifying every digest."""

from __future__ import annotations

import os
from pathlib import Path

import click

from aks_jumpbox.cli.context import resolve_inputs
from aks_jumpbox.cli.present import https_argument, lock_option, spec_option
from aks_jumpbox.core.errors import UserError


@click.group("mirror")
def command() -> None:
    """Keep every download network-local: fill the folder your mirror serves."""


@command.command("sync")
@spec_option
@lock_option
@click.option(
    "--to",
    "to_dir",
    type=click.Path(file_okay=False),
    required=True,
    help="The folder to fill, laid out as <tool>/<version>/<arch>/<file> (extensions under azure-cli-extensions/); "
    "serve it as mirror.artifacts.",
)
@click.option(
    "--from",
    "source",
    default=None,
    metavar="DIR|URL",
    help="Read from a folder with the same layout (artifacts copied by other means) or another "
    "mirror's https:// URL, instead of upstream.",
)
@click.option(
    "--base-image",
    "base_image",
    is_flag=True,
    help="Also mirror the spec's pinned cloud image (base-images/; hundreds of MB), which `try` boots in "
    "mirror mode. A build in Azure never needs it.",
)
def sync(spec_path: str | None, lock_path: str | None, to_dir: str, source: str | None, base_image: bool) -> None:
    """Download every locked artifact and its checksum file, verifying each SHA-256.

    Azure CLI extension wheels go to azure-cli-extensions/<name>/<version>/, beside a copy of
    Microsoft's extension index (azure-cli-extensions/index.json), which `lock` reads there.

    A file already in place with the right digest is left alone, so a re-run only fetches what changed.
    """
    from aks_jumpbox.adapters.files import ensure_dir
    from aks_jumpbox.adapters.http import fetch_file, fetch_text
    from aks_jumpbox.core.errors import Unreachable
    from aks_jumpbox.core.mirror import mirror_items
    from aks_jumpbox.core.mirrorsync import (
        Source,
        check_items,
        check_sources,
        missing_sources,
        sync_item,
        write_index,
    )

    if not to_dir.strip():  # e.g. `--to "$OUT"` with OUT unset: not silently the current folder
        raise UserError("--to is empty.", fix="Name a folder, e.g. --to mirror.")
    inputs = resolve_inputs(spec_path, lock_path)
    if source is None:
        src = Source()
    elif "://" in source:  # another mirror: requests go there, so the URL is checked like every other
        src = Source(base=https_argument("--from", source))
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise UserError(
                f"--from {source}: no such folder.", fix="Give a folder laid out like the mirror, or an https:// URL."
            )
        src = Source(folder=folder)
    out = Path(to_dir)
    if src.folder is not None and os.path.realpath(src.folder) == os.path.realpath(out):
        raise UserError("--from and --to name the same folder.")
    items = mirror_items(inputs.spec, inputs.lock, inputs.catalog, base_images=base_image)
    from aks_jumpbox.core.extensions import INDEX_LIMIT

    def read_text(url: str) -> str:  # a checksum file, or Microsoft's extension index (tens of MB)
        return fetch_text(url, limit=INDEX_LIMIT)

    if not items:
        raise UserError(f"{inputs.lock_label} locks none of the spec's tools.", fix="Run `aks-jumpbox lock` first.")
    check_items(items, out)  # every path stays inside --to, checked before anything is written
    check_sources(items, src)  # and every --from file is a regular file inside --from
    missing = missing_sources(items, src, out)
    if missing:  # all of them at once, before anything is written
        listed = "".join(f"\n  {src.folder}/{rel}" for rel in missing)
        raise UserError(
            f"--from {source}: {len(missing)} file(s) the lock needs are missing (nothing was written):{listed}\n",
            fix="Copy them into that folder in the same layout (from a machine that ran `aks-jumpbox mirror sync "
            "--to DIR`), then re-run.",
        )
    ensure_dir(out)
    synced = []
    for item in items:
        try:
            result = sync_item(item, src, out, read_text, fetch_file)
        except Unreachable as exc:
            from aks_jumpbox.cli.releases import offline_fix
            from aks_jumpbox.core.errors import NoNetwork

            fix = offline_fix(exc.host, command="mirror sync", source=src.base)
            raise NoNetwork(f"no network: {item.tool}: {exc}. {fix}") from None
        synced.append(result)
        click.echo(f"  {result.action:10} {item.path}  sha256 {result.sha256[:12]}…")
    index = write_index(out, synced)
    click.echo(
        f"mirrored {len(synced)} artifacts into {out} (index: {index.name}); "
        f"set mirror.artifacts to the URL that serves it"
    )
