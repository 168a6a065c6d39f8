"""Resource providers of the emulated subscription and their registration state."""

from __future__ import annotations

from typing import Any

from .wire import ArmError

# Regions where Image Builder runs (overview doc, 2026-05-19), as ARM lists them: display names.
AIB_LOCATIONS = [
    "East US",
    "East US 2",
    "West Central US",
    "West US",
    "West US 2",
    "West US 3",
    "South Central US",
    "Central US",
    "North Central US",
    "North Europe",
    "West Europe",
    "UK South",
    "UK West",
    "France Central",
    "Germany West Central",
    "Norway East",
    "Switzerland North",
    "Sweden Central",
    "Poland Central",
    "Italy North",
    "Southeast Asia",
    "East Asia",
    "Australia Southeast",
    "Australia East",
    "Japan East",
    "Korea Central",
    "Central India",
    "Jio India West",
    "New Zealand North",
    "Taiwan Northwest",
    "Brazil South",
    "Canada Central",
    "UAE North",
    "Qatar Central",
    "Israel Central",
    "South Africa North",
]
_EVERYWHERE = AIB_LOCATIONS + [
    "Canada East",
    "Japan West",
    "Korea South",
    "South India",
    "West India",
    "France South",
    "Germany North",
    "Norway West",
    "Switzerland West",
    "UAE Central",
    "Brazil Southeast",
    "Australia Central",
    "South Africa West",
]

DEFAULT_TYPES: dict[str, dict[str, list[str]]] = {
    "Microsoft.VirtualMachineImages": {
        "imageTemplates": ["2025-10-01", "2024-02-01", "2023-07-01", "2022-07-01"],
        "locations/operations": ["2025-10-01", "2024-02-01"],
    },
    "Microsoft.ManagedIdentity": {"userAssignedIdentities": ["2024-11-30", "2023-01-31"]},
    "Microsoft.Authorization": {
        "roleAssignments": ["2022-04-01"],
        "roleDefinitions": ["2022-04-01"],
        "permissions": ["2022-04-01"],
    },
    "Microsoft.Compute": {
        "images": ["2026-04-01", "2025-04-01"],
        "galleries": ["2026-03-03", "2025-03-03"],
        "galleries/images": ["2026-03-03", "2025-03-03"],
        "galleries/images/versions": ["2026-03-03", "2025-03-03"],
        "virtualMachines": ["2026-04-01", "2025-04-01"],
    },
    "Microsoft.Network": {
        "virtualNetworks": ["2026-03-01", "2025-07-01"],
        "networkSecurityGroups": ["2026-03-01", "2025-07-01"],
        "routeTables": ["2026-03-01", "2025-07-01"],
        "firewallPolicies": ["2026-03-01", "2025-07-01"],
        "azureFirewalls": ["2026-03-01", "2025-07-01"],
        "ipGroups": ["2026-03-01", "2025-07-01"],
    },
    "Microsoft.Storage": {"storageAccounts": ["2026-09-01", "2025-06-01"]},
    "Microsoft.ContainerInstance": {"containerGroups": ["2024-10-01-preview", "2023-05-01"]},
    "Microsoft.KeyVault": {"vaults": ["2024-11-01", "2023-07-01"]},  # in Microsoft's "Register the providers" list
    "Microsoft.Resources": {"resourceGroups": ["2025-04-01"], "deployments": ["2025-04-01"]},
}


class Providers:
    def __init__(self, subscription: str) -> None:
        self.subscription = subscription
        self.states = {ns: "Registered" for ns in DEFAULT_TYPES}
        self.locations: dict[str, list[str]] = {"Microsoft.VirtualMachineImages": list(AIB_LOCATIONS)}

    def state(self, namespace: str) -> str:
        for ns, state in self.states.items():
            if ns.lower() == namespace.lower():
                return state
        return "NotRegistered"

    def set_state(self, namespace: str, state: str) -> None:
        canonical = next((ns for ns in self.states if ns.lower() == namespace.lower()), namespace)
        self.states[canonical] = state

    def _canonical(self, namespace: str) -> str:
        for ns in list(self.states) + list(DEFAULT_TYPES):
            if ns.lower() == namespace.lower():
                return ns
        raise ArmError(404, "InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid.")

    def body(self, namespace: str, advance: bool = True) -> dict[str, Any]:
        ns = self._canonical(namespace)
        locations = self.locations.get(ns, _EVERYWHERE)
        types = [
            {"resourceType": t, "locations": list(locations), "apiVersions": v}
            for t, v in DEFAULT_TYPES.get(ns, {}).items()
        ]
        if advance and self.state(ns) == "Registering":  # registration completes when somebody looks again
            self.states[ns] = "Registered"
        state = self.state(ns)
        return {
            "id": f"/subscriptions/{self.subscription}/providers/{ns}",
            "namespace": ns,
            "registrationState": state,
            "registrationPolicy": "RegistrationRequired",
            "resourceTypes": types,
        }

    def register(self, namespace: str, register: bool = True) -> dict[str, Any]:
        ns = self._canonical(namespace)
        if not register:
            self.states[ns] = "Unregistered"
        elif self.state(ns) != "Registered":
            self.states[ns] = "Registering"
        return self.body(ns, advance=False)

    def all(self) -> list[dict[str, Any]]:
        return [self.body(ns, advance=False) for ns in self.states]

    def missing_registration(self, namespace: str) -> ArmError:
        return ArmError(
            409,
            "MissingSubscriptionRegistration",
            f"The subscription is not registered to use namespace '{namespace}'. See "
            "https://aka.ms/rps-not-found for how to register subscriptions.",
        )
