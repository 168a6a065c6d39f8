"""Azure resource IDs: parse, build and compare them without calling Azure."""

from __future__ import annotations

import re
from dataclasses import dataclass

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
GUID_RE = re.compile(rf"^{_GUID}$")
# Resource group names: 1-90 chars of letters, digits, underscore, hyphen, period, parentheses;
# not ending in a period.
RESOURCE_GROUP_RE = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
_SUBNET_RE = re.compile(
    rf"^/subscriptions/(?P<sub>{_GUID})/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Network/virtualNetworks/(?P<vnet>[^/]+)/subnets/(?P<subnet>[^/]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SubnetId:
    subscription: str
    resource_group: str
    vnet: str
    subnet: str

    @property
    def vnet_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Network/virtualNetworks/{self.vnet}"
        )

    def __str__(self) -> str:
        return f"{self.vnet_id}/subnets/{self.subnet}"

    def same_vnet(self, other: SubnetId) -> bool:
        return self.vnet_id.lower() == other.vnet_id.lower()


def parse_subnet_id(value: str) -> SubnetId:
    """Parse a subnet resource ID; raises ValueError with the expected shape."""
    m = _SUBNET_RE.match(value.strip())
    if not m:
        raise ValueError(
            "is not a subnet resource ID; expected /subscriptions/<guid>/resourceGroups/<rg>"
            "/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>"
        )
    if not RESOURCE_GROUP_RE.match(m["rg"]):
        raise ValueError(f"names resource group {m['rg']!r}, which is not a valid resource group name")
    return SubnetId(m["sub"].lower(), m["rg"], m["vnet"], m["subnet"])


def subscription_scope(subscription: str) -> str:
    return f"/subscriptions/{subscription}"


def resource_group_id(subscription: str, resource_group: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}"


def resource_id(subscription: str, resource_group: str, rtype: str, *names: str) -> str:
    """resource_id(sub, rg, 'Microsoft.Compute/images', 'img') -> full ID (nested types allowed)."""
    namespace, *types = rtype.split("/")
    if len(types) != len(names):
        raise ValueError(f"{rtype} needs {len(types)} names, got {len(names)}")
    tail = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    return f"{resource_group_id(subscription, resource_group)}/providers/{namespace}/{tail}"
