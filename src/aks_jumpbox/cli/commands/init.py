"""`aks-jumpbox init`: write the embedded default spec and lock for editing (optionally with your subnets)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from aks_jumpbox.adapters.files import write_all
from aks_jumpbox.cli.azure_common import azure_options
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
@click.option(
    "--subnet-id",
    "subnet_id",
    metavar="ID",
    default=None,
    help="The build subnet's resource ID: its address prefix and its VNet's region are read from Azure (signed in) "
    "and written into the spec.",
)
@click.option(
    "--aci-subnet-id",
    "aci_subnet_id",
    metavar="ID",
    default=None,
    help="With --subnet-id: the container instance subnet (isolated build); without it the spec is for the proxy "
    "VM topology.",
)
@azure_options
def command(directory: str, force: bool, subnet_id: str | None, aci_subnet_id: str | None, azure_args) -> None:
    """Write the default jumpbox.yaml (the upstream image on Ubuntu 24.04) and its lock.

    With --subnet-id (and --aci-subnet-id), the subnets, their address prefixes and the region are read from
    Azure and filled in, so `aks-jumpbox check` compares the spec with what Azure has.
    """
    if not directory.strip():  # e.g. `--dir "$DIR"` with DIR unset: not silently the current folder
        raise UserError("--dir is empty.", fix="Name a folder, e.g. --dir . for this one.")
    target = Path(directory)
    files = {target / DEFAULT_SPEC_NAME: default_spec_text(), target / DEFAULT_LOCK_NAME: default_lock_text()}
    existing = [p for p in files if os.path.lexists(p)]
    if existing and not force:
        raise UserError(
            f"{existing[0]} already exists.", fix="Pass --force to overwrite it, or --dir to write elsewhere."
        )
    if aci_subnet_id is not None and subnet_id is None:
        raise UserError("--aci-subnet-id needs --subnet-id (the build subnet).", fix="Pass both.")
    if subnet_id is not None:
        files[target / DEFAULT_SPEC_NAME] = _with_subnets(
            files[target / DEFAULT_SPEC_NAME], subnet_id, aci_subnet_id, azure_args, target / DEFAULT_SPEC_NAME
        )
    for path in write_all(target, {p.name: text for p, text in files.items()}):
        click.echo(f"wrote {path}")
    click.echo("next: edit build.* and distribute.* in jumpbox.yaml, then run `aks-jumpbox plan`")


def _checked_id(argument: str, value: str) -> str:
    from aks_jumpbox.core import azure_names
    from aks_jumpbox.core.resource_ids import parse_subnet_id

    try:
        azure_names.check_subnet_id(parse_subnet_id(value))
    except ValueError as exc:
        raise UserError(f"{argument} {value!r} {exc}.") from None
    return value.strip()


def _set(text: str, key: str, value: str | None) -> str:
    """The build section's `key:` line with a new value (its comment kept); value None comments the line out."""
    pattern = re.compile(rf"^(  )({re.escape(key)}:[ \t]*)(\S+)(.*)$", re.MULTILINE)
    m = pattern.search(text)
    if m is None:  # the embedded default has every key; a programming error otherwise
        raise AssertionError(f"the default spec has no build.{key}")
    line = f"{m[1]}{m[2]}{value}{m[4]}" if value is not None else f"{m[1]}# {m[2]}{m[3]}{m[4]}"
    return text[: m.start()] + line + text[m.end() :]


def _with_subnets(text: str, subnet_id: str, aci_id: str | None, azure_args, label: Path) -> str:
    from aks_jumpbox.core.resource_ids import parse_subnet_id

    subnet_id = _checked_id("--subnet-id", subnet_id)
    if aci_id is not None:
        aci_id = _checked_id("--aci-subnet-id", aci_id)
        if not parse_subnet_id(subnet_id).same_vnet(parse_subnet_id(aci_id)):
            raise UserError(
                "--aci-subnet-id must name a subnet of the same virtual network as --subnet-id.",
                fix="Give a second subnet of the build subnet's VNet (delegated to Microsoft.ContainerInstance).",
            )
    build, aci = _read(subnet_id, aci_id, azure_args)
    text = _set(text, "subnet_id", build.id)
    text = _set(text, "subnet_address_prefix", build.address_prefix)
    text = _set(text, "location", build.location)
    text = _set(text, "container_instance_subnet_id", aci.id if aci else None)
    text = _set(text, "container_instance_subnet_address_prefix", aci.address_prefix if aci else None)
    from aks_jumpbox.core.catalog import load_catalog
    from aks_jumpbox.core.spec import parse_spec
    from aks_jumpbox.core.yamlfile import load_yaml

    parse_spec(load_yaml(text, str(label)), load_catalog())  # e.g. a /29 subnet: refused before anything is written
    return text


def _read(subnet_id: str, aci_id: str | None, args):
    from aks_jumpbox.azure.clients import Azure, Tuning, choose_subscription
    from aks_jumpbox.azure.cloud import select_cloud
    from aks_jumpbox.azure.errors import AzureFailure
    from aks_jumpbox.azure.subnets import read_subnet
    from aks_jumpbox.core.resource_ids import parse_subnet_id

    cloud = select_cloud(
        "AzureCloud",
        arm_endpoint=args.arm_endpoint,
        arm_audience=args.arm_audience,
        authority_host=args.authority_host,
        storage_suffix=args.storage_suffix,
    )
    subscription = choose_subscription(parse_subnet_id(subnet_id).subscription, args.subscription)
    try:
        with Azure(cloud, subscription, Tuning.from_env()) as az:
            build = read_subnet(az, subnet_id)
            aci = read_subnet(az, aci_id, argument="--aci-subnet-id") if aci_id else None
    except AzureFailure as exc:
        if exc.code != "CredentialUnavailable":
            raise
        raise UserError(
            f"--subnet-id: reading the subnet from Azure needs a sign-in, and there is none ({exc.message}).",
            fix="Sign in with `az login` and re-run; or run `aks-jumpbox init` without --subnet-id and set "
            "build.subnet_id, build.subnet_address_prefix and build.location in jumpbox.yaml yourself.",
        ) from None
    return build, aci
