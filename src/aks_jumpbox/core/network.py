"""The network contract: every flow and FQDN a build needs, derived from the plan's inputs.

Not a hand-kept table: the egress allow-list comes from the lock's URLs (and the catalog's redirect
targets), the base image's apt sources, the Azure CLI repository and Image Builder's own endpoints;
the NSG flows come from the topology. `check` evaluates the same objects against live rules.
"""

from __future__ import annotations

from dataclasses import replace

from aks_jumpbox.core.catalog import Catalog, url_host
from aks_jumpbox.core.model import AptPlan, AzureCliPlan, EgressRule, Flow, NetworkContract, ToolArtifact
from aks_jumpbox.core.spec import Spec, azure_facts

__all__ = ["EgressRule", "Flow", "NetworkContract", "egress_rules", "network_contract"]

AZURE_CLI_EXTENSION_HOSTS = ("azcliextensionsync.blob.core.windows.net", "azcliprod.blob.core.windows.net")


def _merge(rules: list[EgressRule]) -> tuple[EgressRule, ...]:
    """One rule per (fqdn, port, protocol), listing everything that needs it."""
    merged: dict[tuple[str, int, str], EgressRule] = {}
    for r in rules:
        key = (r.fqdn.lower(), r.port, r.protocol)
        if key in merged:
            old = merged[key]
            users = tuple(sorted(set(old.required_by) | set(r.required_by)))
            subnets = tuple(s for s in ("build", "container") if s in old.subnets or s in r.subnets)
            merged[key] = EgressRule(old.fqdn, old.port, old.protocol, old.purpose, users, subnets)
        else:
            merged[key] = EgressRule(r.fqdn.lower(), r.port, r.protocol, r.purpose, tuple(sorted(r.required_by)),
                                     r.subnets)
    return tuple(sorted(merged.values(), key=lambda e: (e.fqdn.lstrip("*."), e.fqdn, e.port)))


def _url_rule(url: str, purpose: str, who: str) -> EgressRule:
    https = url.startswith("https://")
    return EgressRule(url_host(url), 443 if https else 80, "Https" if https else "Http", purpose, (who,))


def egress_rules(spec: Spec, artifacts: tuple[ToolArtifact, ...], azure_cli: AzureCliPlan, apt: AptPlan,
                 catalog: Catalog) -> tuple[EgressRule, ...]:
    facts = azure_facts()["clouds"][spec.cloud]
    suffix = facts["storage_suffix"]
    # Image Builder's own endpoints are reached from the build VM and, when isolated, its container.
    both = ("build", "container") if spec.topology == "isolated" else ("build",)
    rules = [
        replace(_url_rule(facts["resource_manager"], "Image Builder's build VM and container talk to Azure Resource Manager",
                          "image-builder"), subnets=both),
        replace(_url_rule(facts["authority_host"], "token requests of the build's managed identity and container",
                          "image-builder"), subnets=both),
        EgressRule(f"*.blob.{suffix}", 443, "Https",
                   "the staging storage account (logs in packerlogs, the image VHD); its name is random", ("image-builder",),
                   both),
    ]
    if spec.topology == "isolated":
        rules += [EgressRule(host, 443, "Https", "the container image of Image Builder's build container", ("image-builder",),
                             ("container",))
                  for host in facts["container_registry_hosts"]]
        rules.append(EgressRule(f"*.file.{suffix}", 445, "Tcp",
                                "the Azure Files share of Image Builder's build container (SMB)", ("image-builder",),
                                ("container",)))
    image = catalog.base_images[spec.base_image]
    archives = [u for u in (apt.archive, apt.security) if u] or [image.apt_archive, image.apt_security]
    for url in archives:
        rules.append(_url_rule(url, "apt: the base image's package archive (update, upgrade, install)", "apt"))
    if not apt.archive:
        # Azure's images may also reach the distribution's security host directly.
        rules += [EgressRule(h, 80, "Http", "apt: security updates", ("apt",)) for h in image.apt_hosts]
    rules.append(_url_rule(azure_cli.repo_url, "apt: the Azure CLI package repository", "azure-cli"))
    rules.append(_url_rule(azure_cli.key_url, "the Azure CLI repository's signing key (checked by fingerprint)", "azure-cli"))
    if azure_cli.extensions:
        if azure_cli.extension_index_url:
            rules.append(_url_rule(azure_cli.extension_index_url, "Azure CLI extensions (mirrored index and wheels)", "azure-cli"))
        else:
            rules += [EgressRule(h, 443, "Https", "Azure CLI extension index and wheels", ("azure-cli",))
                      for h in AZURE_CLI_EXTENSION_HOSTS]
    mirrored = bool(spec.mirror.artifacts)
    for a in artifacts:
        override = f" (lock override: {a.override})" if a.override else ""
        rules.append(_url_rule(a.url, f"download of {a.name} {a.version}{override}", a.name))
        if a.sha256 is None or a.checksum_order_url:
            rules.append(_url_rule(a.checksum_url, f"checksum file of {a.name} {a.version}", a.name))
        if not mirrored:
            # Redirect targets (e.g. GitHub's release asset hosts) must be allowed too.
            rules += [EgressRule(h, 443, "Https", f"download of {a.name} (redirect target)", (a.name,))
                      for h in catalog.tool(a.name).hosts]
    return _merge(rules)


def _flows(spec: Spec, needs_http: bool) -> tuple[Flow, ...]:
    b = spec.build
    build = b.subnet_address_prefix or "VirtualNetwork"
    flows: list[Flow] = []
    if spec.topology == "isolated":
        aci = b.container_instance_subnet_address_prefix or "VirtualNetwork"
        flows += [
            Flow("build-in-ssh-from-container", "Inbound", "build", aci, build, "22", "Tcp",
                 "Packer in Image Builder's container instance connects to the build VM over SSH"),
            Flow("container-out-ssh-to-build", "Outbound", "container", aci, build, "22", "Tcp",
                 "the container instance reaches the build VM over SSH"),
            Flow("container-out-https", "Outbound", "container", aci, "Internet", "443", "Tcp",
                 "the container instance pulls its image and talks to Image Builder and storage"),
            Flow("container-out-smb", "Outbound", "container", aci, "Internet", "445", "Tcp",
                 "the container instance mounts its Azure Files share"),
        ]
    else:
        flows += [
            # 60001 is the proxy's SSH port; 60000 (WinRM) serves Windows builds only, and every image here is Linux.
            Flow("build-in-lb-probe", "Inbound", "build", "AzureLoadBalancer", "VirtualNetwork", "60001", "Tcp",
                 "the load balancer's health probe reaches the proxy VM (60001 is its SSH port)"),
            Flow("build-in-privatelink", "Inbound", "build", "VirtualNetwork", "VirtualNetwork", "60001", "Tcp",
                 "Image Builder's private link endpoint reaches the proxy VM"),
            Flow("build-in-ssh-from-proxy", "Inbound", "build", "VirtualNetwork", "VirtualNetwork", "22", "Tcp",
                 "the proxy VM connects to the build VM over SSH"),
            Flow("build-out-ssh-to-build", "Outbound", "build", "VirtualNetwork", "VirtualNetwork", "22", "Tcp",
                 "the proxy VM connects to the build VM over SSH"),
        ]
    flows.append(Flow("build-out-https", "Outbound", "build", build, "Internet", "443", "Tcp",
                      "the build VM downloads tools and reaches Azure management and storage"))
    if needs_http:
        flows.append(Flow("build-out-http", "Outbound", "build", build, "Internet", "80", "Tcp",
                          "apt over HTTP (packages are signed; the archive is served on port 80)"))
    return tuple(flows)


def network_contract(spec: Spec, egress: tuple[EgressRule, ...]) -> NetworkContract:
    """The contract of the spec's topology and subnets, for the egress its downloads need (egress_rules)."""
    flows = _flows(spec, needs_http=any(e.port == 80 for e in egress))
    notes = [
        "NTP (UDP 123) and the boot-time calls of Ubuntu images (snapcraft, changelogs) may be blocked safely.",
        "Subnet NSGs are covered here; NSGs on the build VMs' NICs are created by Image Builder and need no change.",
    ]
    if spec.topology == "isolated":
        notes.append("Isolated build: the container subnet must be delegated to Microsoft.ContainerInstance/containerGroups.")
    else:
        notes.append("Proxy build: the build subnet needs privateLinkServiceNetworkPolicies Disabled and 4 free addresses.")
    return NetworkContract(
        topology=spec.topology, cloud=spec.cloud, build_subnet=str(spec.build.subnet),
        container_subnet=str(spec.build.container_subnet) if spec.build.container_subnet else None,
        flows=flows, egress=egress, notes=tuple(notes),
    )
