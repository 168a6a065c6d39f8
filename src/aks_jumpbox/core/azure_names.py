"""Azure's naming rules for the resources a spec names, so a name is only ever a name.

A name goes into resource IDs (`.../virtualNetworks/<vnet>/subnets/<subnet>`), request paths and ARM
strings; a name such as `../..` or `a/b` would re-target the ID. Each rule is Azure's own, from
https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
("alphanumeric" there means a-z, A-Z, 0-9). Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aks_jumpbox.core.resource_ids import RESOURCE_GROUP_RE, SubnetId


@dataclass(frozen=True)
class NameRule:
    what: str
    pattern: re.Pattern[str]
    low: int
    high: int
    says: str  # the rule in words, for the message

    def check(self, value: str) -> str:
        if not (self.low <= len(value) <= self.high and self.pattern.fullmatch(value)):
            raise ValueError(
                f"{value!r} is not a valid {self.what} name ({self.low}-{self.high} characters: {self.says})"
            )
        return value


_WORD = "letters, digits, _ . -; starting with a letter or digit, ending with a letter, digit or _"
RULES = {
    # Microsoft.Network/virtualNetworks: 2-64, alphanumerics, underscores, periods, hyphens;
    # start alphanumeric, end alphanumeric or underscore.
    "vnet": NameRule("virtual network", re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9_]"), 2, 64, _WORD),
    # Microsoft.Network/virtualNetworks/subnets: 1-80, same characters and ends.
    "subnet": NameRule("subnet", re.compile(r"[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9_])?"), 1, 80, _WORD),
    # Microsoft.Compute/images: 1-80, alphanumerics, underscores, periods, hyphens;
    # start alphanumeric, end alphanumeric or underscore.
    "image": NameRule("managed image", re.compile(r"[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9_])?"), 1, 80, _WORD),
    # Microsoft.ManagedIdentity/userAssignedIdentities: 3-128, alphanumerics, hyphens, underscores;
    # start with a letter or number.
    "identity": NameRule(
        "managed identity",
        re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*"),
        3,
        128,
        "letters, digits, _ -; starting with a letter or digit",
    ),
}


def check(kind: str, value: str) -> str:
    """value if it is a valid name of that kind (see RULES); else ValueError saying the rule."""
    return RULES[kind].check(value)


def check_subnet_id(subnet: SubnetId) -> SubnetId:
    """Every name inside a parsed subnet ID follows its type's rule."""
    # Resource groups: 1-90 of letters, digits, _ - . ( ); not ending in a period (resource_ids.py).
    if not RESOURCE_GROUP_RE.fullmatch(subnet.resource_group):
        raise ValueError(f"names resource group {subnet.resource_group!r}, which is not a valid resource group name")
    for kind, value in (("vnet", subnet.vnet), ("subnet", subnet.subnet)):
        try:
            check(kind, value)
        except ValueError as exc:
            raise ValueError(f"names an invalid {RULES[kind].what}: {exc}") from None
    return subnet
