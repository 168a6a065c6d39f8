"""`aks-jumpbox lock`: the only command that needs the internet (or the mirror)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import click

from aks_jumpbox.cli.context import Inputs, resolve_inputs
from aks_jumpbox.cli.present import feed_option, lock_option, printable, spec_option
from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.lock import DEFAULT_LOCK_NAME


def _write(path: Path, text: str) -> None:
    from aks_jumpbox.adapters.files import write_file

    write_file(path, text)


@click.command("lock")
@spec_option
@lock_option
@click.option(
    "--upgrade",
    is_flag=True,
    help="First move pins forward to their newest releases (all, or the TOOLs named; azure-cli too).",
)
@feed_option
@click.argument("tools", nargs=-1, metavar="[TOOL]...")
def command(
    spec_path: str | None, lock_path: str | None, upgrade: bool, feed: str | None, tools: tuple[str, ...]
) -> None:
    """Resolve every pinned tool's URL and SHA-256 from its upstream checksum file.

    Azure CLI extensions are pinned from Microsoft's extension index (wheel URL and SHA-256): the spec's
    version, else the one already locked, else (and with --upgrade) the newest that fits the Azure CLI.

    With mirror.artifacts set, the checksum files are read from the mirror. Writes
    jumpbox.lock.json beside the spec (or --lock); a digest that changed for the same URL is refused.

    With --upgrade, pins move to their newest releases first, edited in place in jumpbox.yaml
    (comments kept). Without TOOLs, a pin that has a reason is held until its review_by date.
    """
    from aks_jumpbox.adapters.http import fetch_file, fetch_text
    from aks_jumpbox.core.resolve import resolve_lock

    if tools and not upgrade:
        raise click.UsageError("TOOL names are for --upgrade; plain `lock` resolves every pin.")
    inputs = _inputs(spec_path, lock_path)
    target = (
        Path(lock_path)
        if lock_path
        else (inputs.spec_path.parent if inputs.spec_path else Path(".")) / DEFAULT_LOCK_NAME
    )
    spec, new_spec_text = inputs.spec, None
    from aks_jumpbox.core.errors import Unreachable
    from aks_jumpbox.core.extensions import INDEX_LIMIT

    try:
        if upgrade:
            spec, new_spec_text = _upgrade(inputs, tools, feed)
        # Azure CLI extensions: from Microsoft's extension index (read through --feed when given), a large file.
        resolution = resolve_lock(
            spec,
            inputs.catalog,
            inputs.lock,
            fetch_text,
            fetch_index=lambda url: fetch_text(url, limit=INDEX_LIMIT),
            feed=feed,
            upgrade_extensions=upgrade and not tools,
            fetch_file=fetch_file,  # a base image published with SHA-512 only is hashed once (streamed, not kept)
            upgrade_base_images=upgrade and not tools,
        )
    except Unreachable as exc:
        raise _offline(exc.host, str(exc), spec.mirror.artifacts, feed) from None
    if new_spec_text is not None and inputs.spec_path is not None:  # _upgrade refuses a spec without a file
        _write(inputs.spec_path, new_spec_text)
        click.echo(f"wrote {inputs.spec_path}")
    _write(target, resolution.lock.dumps())
    for line in resolution.changes:
        click.echo(f"  {printable(line)}")  # may quote a server's error message
    click.echo(f"wrote {target} ({len(spec.tools)} tools)")


def _offline(host: str, what: str, mirror: str | None, feed: str | None):
    """One message for no network: what could not be reached, that nothing was written, and what to do."""
    from aks_jumpbox.cli.releases import offline_fix
    from aks_jumpbox.core.errors import NoNetwork

    fix = offline_fix(host, command="lock", mirror=mirror, feed=feed)
    return NoNetwork(f"no network: {printable(what)}; nothing was written. {fix}")


def _inputs(spec_path: str | None, lock_path: str | None) -> Inputs:
    """The spec and the lock to start from. `lock --lock NEW.json` creates NEW.json: it starts from the
    embedded lock, exactly as a first `lock` with no lock beside the spec does."""
    if lock_path is None or os.path.lexists(lock_path):
        return resolve_inputs(spec_path, lock_path)
    from aks_jumpbox.core.catalog import load_catalog
    from aks_jumpbox.core.lock import load_lock
    from aks_jumpbox.core.spec import DEFAULT_SPEC_NAME, load_spec

    if spec_path is None and os.path.lexists(DEFAULT_SPEC_NAME):
        spec_path = DEFAULT_SPEC_NAME
    catalog = load_catalog()
    spec, doc = load_spec(spec_path, catalog)
    lock, label = load_lock(None, catalog)
    click.echo(f"creating {lock_path} (a new lock; digests are checked against the embedded lock's)")
    return Inputs(spec, doc.file, doc, Path(spec_path) if spec_path else None, lock, label, Path(lock_path), catalog)


def _upgrade(inputs, names: tuple[str, ...], feed: str | None):
    """The upgraded spec and its new text (None when nothing moved)."""
    from aks_jumpbox.cli.releases import newest_releases
    from aks_jumpbox.core.outdated import choose_upgrades
    from aks_jumpbox.core.releases import AZURE_CLI
    from aks_jumpbox.core.specedit import bump_pins

    spec = inputs.spec
    if inputs.spec_path is None:
        raise UserError(
            "--upgrade edits jumpbox.yaml, and there is none here.",
            fix="Run `aks-jumpbox init` first, or pass -f PATH.",
        )
    known = {*spec.tools, AZURE_CLI}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UserError(
            f"{unknown[0]!r} is not pinned in {inputs.spec_label}.", fix=f"Name one of: {', '.join(sorted(known))}."
        )
    wanted = list(dict.fromkeys(names)) or sorted(known)
    newest = newest_releases(wanted, inputs.catalog, spec.architecture, feed)
    choice = choose_upgrades(spec, newest, tuple(dict.fromkeys(names)), dt.date.today())
    for name, why in sorted(choice.held.items()):
        click.echo(f"  held {name}: {why}")
    failed = [n for n in wanted if newest[n].error]
    down = next((newest[n] for n in failed if newest[n].unreachable), None)
    if down is not None and down.unreachable:
        raise _offline(down.unreachable, down.error or "", spec.mirror.artifacts, feed)
    if failed:  # nothing is written unless every release source could be read
        from aks_jumpbox.core.errors import OperationFailed

        raise OperationFailed("; ".join(f"{n}: {newest[n].error}" for n in failed))
    if not choice.changes:
        click.echo("  every pin is at its newest release")
        return spec, None
    from aks_jumpbox.adapters.files import SPEC_LIMIT, read_input

    text = read_input(inputs.spec_path, what="spec", limit=SPEC_LIMIT)
    new_text, new_spec = bump_pins(text, inputs.spec_label, choice.changes, inputs.catalog)
    for name, (old, new) in sorted(choice.changes.items()):
        click.echo(f"  upgrade {name} {old} -> {new}")
    return new_spec, new_text
