"""What `init --subnet-id` reads from Azure: a subnet's address prefix and its virtual network's region.

Read with the same GETs (and api-versions) as the live preflight, so a prefix `init` writes is the one
`check` later compares with the spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.preflight import LiveSource
from aks_jumpbox.core.errors import UserError
from aks_jumpbox.preflight.source import Unavailable


@dataclass(frozen=True)
class SubnetFacts:
    id: str
    address_prefix: str
    location: str


def _props(doc: dict[str, Any]) -> dict[str, Any]:
    inner = doc.get("properties")
    return inner if isinstance(inner, dict) else doc


def read_subnet(az: Azure, subnet_id: str, *, argument: str = "--subnet-id") -> SubnetFacts:
    """The subnet's IPv4 prefix (a subnet may list several: addressPrefixes) and its VNet's region."""
    source = LiveSource(az)
    vnet_id = subnet_id.rsplit("/subnets/", 1)[0]
    try:
        subnet = source.resource(subnet_id)
        vnet = source.resource(vnet_id) if subnet is not None else None
    except Unavailable as exc:
        raise UserError(
            f"{argument} {subnet_id}: Azure would not show it ({exc.reason}).",
            fix="Ask for Reader on the virtual network, or give the prefix yourself: run `aks-jumpbox init` without "
            f"{argument} and set it in jumpbox.yaml.",
        ) from None
    if subnet is None or vnet is None:
        raise UserError(
            f"{argument} {subnet_id}: no such subnet in subscription {az.subscription}.",
            fix="Copy the ID from `az network vnet subnet show -g RG --vnet-name VNET -n SUBNET --query id -o tsv`.",
        )
    p = _props(subnet)
    prefixes = [p["addressPrefix"]] if isinstance(p.get("addressPrefix"), str) else p.get("addressPrefixes") or []
    ipv4 = [x for x in prefixes if isinstance(x, str) and ":" not in x]
    location = vnet.get("location")
    if not ipv4 or not isinstance(location, str):
        raise UserError(
            f"{argument} {subnet_id}: Azure lists no IPv4 address prefix for it (or no region for its VNet).",
            fix="Image Builder needs an IPv4 subnet of /28 or larger; give another subnet.",
        )
    return SubnetFacts(subnet_id, ipv4[0], "".join(location.split()).lower())
