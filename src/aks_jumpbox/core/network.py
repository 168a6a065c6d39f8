"""The network contract: every flow and FQDN a build needs, derived from the plan's inputs.

Not a hand-kept table: the egress allow-list comes from the lock's URLs (and the catalog's redirect
targets), the base image's apt sources, the Azure CLI repository and Image Builder's own endpoints;
the NSG flows come from the topology. `check` evaluates the same objects against live rules.

Every row carries its basis (core/model.py `Basis`): documented (with the Microsoft source), derived
from the lock, or inferred (with why). `check` fails only on documented and derived rows.
"""

from __future__ import annotations

from dataclasses import replace

from aks_jumpbox.core.catalog import Catalog, url_host
from aks_jumpbox.core.model import (
    DERIVED,
    DOCUMENTED,
    INFERRED,
    AptPlan,
    AzureCliPlan,
    Basis,
    EgressRule,
    Flow,
    NetworkContract,
    ToolArtifact,
)
from aks_jumpbox.core.spec import Spec, azure_facts

__all__ = ["Basis", "EgressRule", "Flow", "NetworkContract", "egress_rules", "network_contract", "storage_service_tag"]

# Microsoft's sources for the rows below.
AIB_NETWORKING = "https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-networking"
AIB_VNET_NSG = "https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-vnet#add-an-nsg-rule"
AIB_ACI_SUBNET = (
    "https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-json#containerinstancesubnetid-optional"
)
AIB_RELEASE_NOTES = (
    "https://learn.microsoft.com/azure/virtual-machines/image-builder-api-update-release-notes#march-2026"
)
# The upstream reference (a Microsoft patterns & practices repository): its egress table lists blob
# storage and management.azure.com for the proxy VM of the proxy topology ("Before we begin").
UPSTREAM_REFERENCE = "https://github.com/mspnp/aks-jumpbox-imagebuilder#before-we-begin"
# Azure CLI extensions are installed from their locked wheels (`az extension add --source FILE`), so the
# build reads no extension index: not its aka.ms link, not the blob it redirects to. Only the wheel's own
# host (the lock's URL, or the mirror) is needed.


def storage_service_tag(location: str) -> str:
    """The Storage service tag of a region as the Service Tags files spell it (tags are names, not
    patterns); the global ``Storage`` tag where the region's spelling is not recorded."""
    region = azure_facts().get("service_tag_regions", {}).get(location.replace(" ", "").lower())
    return f"Storage.{region}" if region else "Storage"


def _merge(rules: list[EgressRule]) -> tuple[EgressRule, ...]:
    """One rule per (fqdn, port, protocol), listing everything that needs it."""
    merged: dict[tuple[str, int, str], EgressRule] = {}
    for r in rules:
        key = (r.fqdn.lower(), r.port, r.protocol)
        if key in merged:
            old = merged[key]
            users = tuple(sorted(set(old.required_by) | set(r.required_by)))
            subnets = tuple(s for s in ("build", "container") if s in old.subnets or s in r.subnets)
            merged[key] = replace(old, required_by=users, subnets=subnets, basis=Basis.strongest((old.basis, r.basis)))
        else:
            merged[key] = replace(r, fqdn=r.fqdn.lower(), required_by=tuple(sorted(r.required_by)))
    return tuple(sorted(merged.values(), key=lambda e: (e.fqdn.lstrip("*."), e.fqdn, e.port)))


def _url_rule(url: str, purpose: str, who: str, basis: Basis) -> EgressRule:
    https = url.startswith("https://")
    return EgressRule(url_host(url), 443 if https else 80, "Https" if https else "Http", purpose, (who,), basis=basis)


def _image_builder_rules(spec: Spec, facts: dict) -> list[EgressRule]:
    """Image Builder's own endpoints. Microsoft's pages name none for the build subnet; the upstream
    reference lists blob storage and management.azure.com for the proxy VM (proxy topology only).
    For the container instance Microsoft documents outbound 443 (its container image) and 445 (its
    Azure Files share) to the Internet, without naming hosts: the SMB row is documented, the others
    are this project's reading of what "443 to the Internet" is for."""
    suffix = facts["storage_suffix"]
    isolated = spec.topology == "isolated"
    if isolated:
        build = Basis(
            INFERRED,
            "isolated builds have no proxy VM in the build subnet, and Microsoft ties the build "
            f"VM's outbound access to what the build downloads ({AIB_RELEASE_NOTES}); for the "
            f"container, Microsoft documents 443 to the Internet ({AIB_ACI_SUBNET}), naming no host",
        )
    else:
        build = Basis(DOCUMENTED, UPSTREAM_REFERENCE)
    token = Basis(
        INFERRED, "no Microsoft source lists it; managed identities get tokens from the instance metadata service"
    )
    # In the isolated topology the build VM and the container instance share these rows.
    both = ("build", "container") if isolated else ("build",)
    rules = [
        replace(
            _url_rule(
                facts["resource_manager"],
                "Image Builder's build VM and container talk to Azure Resource Manager",
                "image-builder",
                build,
            ),
            subnets=both,
        ),
        EgressRule(
            f"*.blob.{suffix}",
            443,
            "Https",
            "the staging storage account (logs in packerlogs, the image VHD); its name is random",
            ("image-builder",),
            both,
            build,
        ),
        replace(
            _url_rule(
                facts["authority_host"],
                "token requests of the build's managed identity and container",
                "image-builder",
                token,
            ),
            subnets=both,
        ),
    ]
    if isolated:
        rules += [
            EgressRule(
                host,
                443,
                "Https",
                "the container image of Image Builder's build container",
                ("image-builder",),
                ("container",),
                Basis(
                    INFERRED,
                    f"Microsoft documents 443 'for provisioning the container image' "
                    f"({AIB_ACI_SUBNET}), naming no registry; its images are on MCR",
                ),
            )
            for host in facts["container_registry_hosts"]
        ]
        # SMB cannot be an application rule, and network rules do not match wildcard FQDNs: the
        # destination is the build region's Storage service tag.
        rules.append(
            EgressRule(
                f"*.file.{suffix}",
                445,
                "Tcp",
                "the Azure Files share of Image Builder's build container (SMB)",
                ("image-builder",),
                ("container",),
                Basis(DOCUMENTED, AIB_ACI_SUBNET),
                service_tag=storage_service_tag(spec.build.location),
            )
        )
    return rules


def egress_rules(
    spec: Spec, artifacts: tuple[ToolArtifact, ...], azure_cli: AzureCliPlan, apt: AptPlan, catalog: Catalog
) -> tuple[EgressRule, ...]:
    facts = azure_facts()["clouds"][spec.cloud]
    rules = _image_builder_rules(spec, facts)
    image = catalog.base_images[spec.base_image]
    archives = [u for u in (apt.archive, apt.security) if u] or [image.apt_archive, image.apt_security]
    apt_basis = Basis(
        DERIVED, f"the apt sources of base image {spec.base_image}" + (" (the mirror's)" if apt.archive else "")
    )
    for url in archives:
        rules.append(
            _url_rule(url, "apt: the base image's package archive (update, upgrade, install)", "apt", apt_basis)
        )
    if not apt.archive:
        # Azure's images may also reach the distribution's security host directly.
        rules += [
            EgressRule(h, 80, "Http", "apt: security updates", ("apt",), basis=apt_basis) for h in image.apt_hosts
        ]
    cli = Basis(DERIVED, f"azure-cli {azure_cli.version} from its apt repository")
    rules.append(_url_rule(azure_cli.repo_url, "apt: the Azure CLI package repository", "azure-cli", cli))
    rules.append(
        _url_rule(
            azure_cli.key_url, "the Azure CLI repository's signing key (checked by fingerprint)", "azure-cli", cli
        )
    )
    for w in azure_cli.wheels:
        rules.append(
            _url_rule(
                w.url,
                f"Azure CLI extension wheel {w.name} {w.version}",
                "azure-cli",
                Basis(DERIVED, f"Azure CLI extension {w.name} {w.version} (its locked wheel)"),
            )
        )
    mirrored = bool(spec.mirror.artifacts)
    for a in artifacts:
        override = f" (lock override: {a.override})" if a.override else ""
        locked = Basis(DERIVED, f"{a.name} {a.version}")
        rules.append(_url_rule(a.url, f"download of {a.name} {a.version}{override}", a.name, locked))
        if a.sha256 is None or a.checksum_order_url:
            rules.append(_url_rule(a.checksum_url, f"checksum file of {a.name} {a.version}", a.name, locked))
        if not mirrored:
            # Redirect targets (e.g. GitHub's release asset hosts) must be allowed too.
            redirect = Basis(DERIVED, f"{a.name} {a.version} (its download redirects here, per the catalog)")
            direct = {url_host(a.url), url_host(a.checksum_url)}  # already rows of their own, above
            rules += [
                EgressRule(h, 443, "Https", f"download of {a.name} (redirect target)", (a.name,), basis=redirect)
                for h in catalog.tool(a.name).hosts
                if h.lower() not in direct
            ]
    return _merge(rules)


def _flows(spec: Spec, egress: tuple[EgressRule, ...]) -> tuple[Flow, ...]:
    b = spec.build
    build = b.subnet_address_prefix or "VirtualNetwork"
    flows: list[Flow] = []
    if spec.topology == "isolated":
        aci = b.container_instance_subnet_address_prefix or "VirtualNetwork"
        documented = Basis(DOCUMENTED, AIB_ACI_SUBNET)
        flows += [
            Flow(
                "build-in-ssh-from-container",
                "Inbound",
                "build",
                aci,
                build,
                "22",
                "Tcp",
                "Packer in Image Builder's container instance connects to the build VM over SSH",
                documented,
            ),
            Flow(
                "container-out-ssh-to-build",
                "Outbound",
                "container",
                aci,
                build,
                "22",
                "Tcp",
                "the container instance reaches the build VM over SSH",
                documented,
            ),
            Flow(
                "container-out-https",
                "Outbound",
                "container",
                aci,
                "Internet",
                "443",
                "Tcp",
                "the container instance pulls its image and talks to Image Builder and storage",
                documented,
            ),
            Flow(
                "container-out-smb",
                "Outbound",
                "container",
                aci,
                "Internet",
                "445",
                "Tcp",
                "the container instance mounts its Azure Files share",
                documented,
            ),
        ]
    else:
        proxy = Basis(DOCUMENTED, AIB_NETWORKING + "#why-deploy-a-proxy-vm")
        flows += [
            # 60001 is the proxy's SSH port; 60000 (WinRM) serves Windows builds only, and every image here is Linux.
            Flow(
                "build-in-lb-probe",
                "Inbound",
                "build",
                "AzureLoadBalancer",
                "VirtualNetwork",
                "60001",
                "Tcp",
                "the load balancer's health probe reaches the proxy VM (60001 is its SSH port)",
                Basis(DOCUMENTED, AIB_VNET_NSG),
            ),
            Flow(
                "build-in-privatelink",
                "Inbound",
                "build",
                "VirtualNetwork",
                "VirtualNetwork",
                "60001",
                "Tcp",
                "Image Builder's private link endpoint reaches the proxy VM",
                proxy,
            ),
            Flow(
                "build-in-ssh-from-proxy",
                "Inbound",
                "build",
                "VirtualNetwork",
                "VirtualNetwork",
                "22",
                "Tcp",
                "the proxy VM connects to the build VM over SSH",
                proxy,
            ),
            Flow(
                "build-out-ssh-to-build",
                "Outbound",
                "build",
                "VirtualNetwork",
                "VirtualNetwork",
                "22",
                "Tcp",
                "the proxy VM connects to the build VM over SSH",
                proxy,
            ),
        ]
    # The build subnet's Internet flows are required when a required egress row goes through them.
    for port, fid, why in (
        (443, "build-out-https", "the build VM downloads tools and reaches Azure management and storage"),
        (80, "build-out-http", "apt over HTTP (packages are signed; the archive is served on port 80)"),
    ):
        rows = [e for e in egress if "build" in e.subnets and e.port == port and e.service_tag is None]
        if not rows:
            continue
        required = [e for e in rows if e.basis.required]
        basis = (
            Basis(DERIVED, f"the {len(required)} required egress rows on port {port} (below)")
            if required
            else Basis(INFERRED, f"only advisory egress rows use port {port}")
        )
        flows.append(Flow(fid, "Outbound", "build", build, "Internet", str(port), "Tcp", why, basis))
    return tuple(flows)


def network_contract(spec: Spec, egress: tuple[EgressRule, ...]) -> NetworkContract:
    """The contract of the spec's topology and subnets, for the egress its downloads need (egress_rules)."""
    flows = _flows(spec, egress)
    notes = [
        "NTP (UDP 123) and the boot-time calls of Ubuntu images (snapcraft, changelogs) may be blocked safely.",
        "Subnet NSGs are covered here; NSGs on the build VMs' NICs are created by Image Builder and need no change.",
    ]
    if spec.topology == "isolated":
        notes.append(
            "Isolated build: the container subnet must be delegated to Microsoft.ContainerInstance/containerGroups."
        )
    else:
        notes.append(
            "Proxy build: the build subnet needs privateLinkServiceNetworkPolicies Disabled and 4 free addresses."
        )
    return NetworkContract(
        topology=spec.topology,
        cloud=spec.cloud,
        build_subnet=str(spec.build.subnet),
        container_subnet=str(spec.build.container_subnet) if spec.build.container_subnet else None,
        flows=flows,
        egress=egress,
        notes=tuple(notes),
    )
