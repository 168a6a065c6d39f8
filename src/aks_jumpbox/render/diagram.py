"""The network contract as a Mermaid flowchart: subnets, their NSGs, the firewall, the Internet hosts.

`plan` puts it in network/contract.md (GitHub, Azure DevOps and VS Code render Mermaid in Markdown);
`check --diagram` draws the same picture with each flow coloured by its verdict. Pure and
deterministic: node IDs are made here (never from a value), and every label is written through
`label()`, which turns anything but a few plain characters into Mermaid's `#NNN;` entity codes, so a
value (a host name, a subnet name, a lock override's reason) cannot close its label, start a comment,
or add a link, `click` or `style` directive. https://mermaid.js.org/syntax/flowchart.html#entity-codes-to-escape-characters
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aks_jumpbox.core.model import EgressRule, Flow, Plan
from aks_jumpbox.core.naming import rule_collection_group_name
from aks_jumpbox.core.spec import azure_facts

# Characters a label keeps as they are; everything else becomes an entity code.
_PLAIN = re.compile(r"[A-Za-z0-9 .,:/()*+_-]")
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# Worst first: the colour of an edge or group that stands for several checks.
_ORDER = ("fail", "warn", "skip", "unchecked", "pass")
_COLOURS = {
    "pass": ("#d4edda", "#1e7e34"),
    "warn": ("#fff3cd", "#b58100"),
    "fail": ("#f8d7da", "#c82333"),
    "skip": ("#e2e3e5", "#6c757d"),
    "unchecked": ("#ffffff", "#6c757d"),
}
# The Internet hosts, grouped by what they are for (in this order).
GROUPS = (
    ("g_mgmt", "Azure management"),
    ("g_storage", "Azure Storage"),
    ("g_registry", "container image registry"),
    ("g_packages", "package repositories"),
    ("g_tools", "tool downloads"),
)


def label(text: str) -> str:
    """text as the inside of a double-quoted Mermaid label: plain characters kept, the rest entity codes."""
    return "".join(c if _PLAIN.fullmatch(c) else f"#{ord(c)};" for c in text)


def _lines(*parts: str) -> str:
    """A multi-line label; each part escaped, the line breaks written here."""
    return '"' + "<br>".join(label(p) for p in parts if p) + '"'


def host_group(e: EgressRule, registry_hosts: Iterable[str]) -> str:
    """Which group an egress row belongs to (an ID of GROUPS)."""
    users = set(e.required_by)
    if "image-builder" in users:
        if e.fqdn in {h.lower() for h in registry_hosts}:
            return "g_registry"
        if e.service_tag or e.fqdn.startswith("*."):  # the staging account's blob and file endpoints
            return "g_storage"
        return "g_mgmt"
    if users <= {"apt", "azure-cli"}:
        return "g_packages"
    return "g_tools"


def worst(statuses: Iterable[str]) -> str:
    found = set(statuses)
    return next((s for s in _ORDER if s in found), "unchecked")


@dataclass
class _Graph:
    verdicts: Mapping[str, str] | None
    lines: list[str] = field(default_factory=list)
    edges: list[str | None] = field(default_factory=list)  # the status of each edge, in order (for linkStyle)
    classes: dict[str, list[str]] = field(default_factory=dict)

    def node(self, nid: str, text: str, shape: str = "[]", indent: int = 1, status: str | None = None) -> None:
        assert ID_RE.match(nid), nid
        self.lines.append("  " * indent + f"{nid}{shape[: len(shape) // 2]}{text}{shape[len(shape) // 2 :]}")
        if status is not None:
            self.classes.setdefault(status, []).append(nid)

    def edge(self, a: str, b: str, text: str, status: str | None = None, dotted: bool = False) -> None:
        assert ID_RE.match(a) and ID_RE.match(b), (a, b)
        arrow = "-.->" if dotted else "-->"
        if status is not None:
            text = f"{status.upper()} {text}"
        self.lines.append(f"  {a} {arrow}|{_lines(text)}| {b}")
        self.edges.append(status)

    def status(self, *ids: str) -> str | None:
        """The worst verdict among the findings named; None when not drawing verdicts."""
        if self.verdicts is None:
            return None
        return worst(self.verdicts.get(i, "unchecked") for i in ids)


def _flow_text(f: Flow) -> str:
    return f"{f.protocol} {f.ports}: {f.id}"


def network_diagram(plan: Plan, verdicts: Mapping[str, str] | None = None) -> str:
    """The Mermaid source (no code fence) of the plan's network contract.

    verdicts: `check` finding ID -> pass / warn / fail / skip; given, every flow, host and the firewall
    carry the verdict of the checks that cover them (missing: "unchecked").
    """
    contract, spec = plan.network, plan.spec
    b = spec.build
    isolated = contract.topology == "isolated"
    g = _Graph(verdicts)
    kind = "isolated build (no proxy VM)" if isolated else "proxy VM build"
    g.lines += ["flowchart LR", f"  %% network contract: {label(kind)}, {label(contract.cloud)}"]

    # Subgraph titles stay on one line: Mermaid does not make room for a second one.
    g.lines.append(f"  subgraph vnet[{_lines(f'virtual network {b.subnet.vnet} ({b.subnet.resource_group})')}]")
    g.lines.append("    direction TB")
    subnets = [("build", b.subnet, b.subnet_address_prefix)]
    if b.container_subnet is not None:
        subnets.append(("container", b.container_subnet, b.container_instance_subnet_address_prefix))
    for role, sid, prefix in subnets:
        extra = ", delegated to Microsoft.ContainerInstance" if role == "container" else ""
        if role == "build" and not isolated:
            extra = ", privateLinkServiceNetworkPolicies Disabled"
        title = f"{role} subnet {sid.subnet}" + (f" {prefix}" if prefix else "") + extra
        g.lines.append(f"    subgraph sn_{role}[{_lines(title)}]")
        g.node(f"nsg_{role}", _lines(f"NSG nsg-{sid.subnet}"), "{{}}", 3)
        if role == "build":
            if not isolated:
                g.node("proxy_vm", _lines("proxy VM (Image Builder)"), "[]", 3)
            g.node("build_vm", _lines("build VM"), "[]", 3)
        else:
            g.node("aci", _lines("Image Builder container instance"), "[]", 3)
        g.lines.append("    end")
    g.lines.append("  end")
    if not isolated:
        g.node("aib", _lines("Image Builder service (private link)"), "([])")
        g.node("lb", _lines("AzureLoadBalancer (health probe)"), "([])")

    roles = [r for r, _, _ in subnets]
    fw_checks = [f"egress.{r}.{what}" for r in roles for what in ("path", "firewall")]
    g.node(
        "fw",
        _lines(
            "Azure Firewall (hub)",
            "default route 0.0.0.0/0",
            f"rule collection group {rule_collection_group_name(plan.names.spec)}",
        ),
        "[[]]",
        status=g.status(*fw_checks),
    )

    registry = azure_facts()["clouds"][contract.cloud].get("container_registry_hosts", [])
    members: dict[str, list[tuple[int, EgressRule]]] = {gid: [] for gid, _ in GROUPS}
    for i, e in enumerate(contract.egress):
        members[host_group(e, registry)].append((i, e))
    g.lines.append(f"  subgraph internet[{_lines('Internet')}]")
    g.lines.append("    direction TB")
    host_status: dict[str, str | None] = {}
    for gid, title in GROUPS:
        if not members[gid]:
            continue
        g.lines.append(f"    subgraph {gid}[{_lines(title)}]")
        for i, e in members[gid]:
            st = g.status(*(f"egress.{r}.{e.fqdn}:{e.port}" for r in e.subnets))
            dest = f"{e.fqdn} (service tag {e.service_tag})" if e.service_tag else e.fqdn
            g.node(f"h{i}", _lines(f"{dest} {e.protocol} {e.port}", st.upper() if st else ""), "[]", 3, st)
            host_status[f"h{i}"] = st
        g.lines.append("    end")
    g.lines.append("  end")

    # NSG flows: between the workloads inside the network, and out of each subnet to the firewall.
    for f in contract.flows:
        st = g.status(f"nsg.{f.id}")
        src, dst = _endpoints(f, isolated)
        g.edge(src, dst, _flow_text(f), st)
    for gid, _ in GROUPS:
        if not members[gid]:
            continue
        ports = sorted({(e.protocol, e.port) for _, e in members[gid]}, key=lambda p: (p[1], p[0]))
        st = worst(s for i, _ in members[gid] if (s := host_status[f"h{i}"])) if verdicts is not None else None
        g.edge("fw", gid, ", ".join(f"{p} {n}" for p, n in ports), st, dotted=False)

    # Colours: only with verdicts (the plain picture has no state to show).
    if verdicts is not None:
        for status in _ORDER:
            fill, stroke = _COLOURS[status]
            dash = ",stroke-dasharray:4 3" if status in ("skip", "unchecked") else ""
            g.lines.append(f"  classDef {status} fill:{fill},stroke:{stroke},color:#111111{dash}")
        for status in _ORDER:
            if g.classes.get(status):
                g.lines.append(f"  class {','.join(g.classes[status])} {status}")
        for i, edge_status in enumerate(g.edges):
            if edge_status is not None:
                width = "3px" if edge_status in ("fail", "warn") else "2px"
                g.lines.append(f"  linkStyle {i} stroke:{_COLOURS[edge_status][1]},stroke-width:{width}")
    return "\n".join(g.lines) + "\n"


def _endpoints(f: Flow, isolated: bool) -> tuple[str, str]:
    """The nodes a flow connects: known flows by what they are, any other by its subnet and direction."""
    if f.destination == "Internet":
        return f"sn_{f.subnet}", "fw"
    if isolated and f.subnet in ("build", "container") and f.ports == "22":
        return "aci", "build_vm"  # Packer in the container instance to the build VM, seen from either NSG
    if not isolated:
        if f.source == "AzureLoadBalancer":
            return "lb", "proxy_vm"
        if f.ports == "60001":
            return "aib", "proxy_vm"
        if f.ports == "22":
            return "proxy_vm", "build_vm"
    return (f"nsg_{f.subnet}", f"sn_{f.subnet}") if f.direction == "Inbound" else (f"sn_{f.subnet}", "fw")


def svg(diagram: str) -> str:
    """The diagram drawn as SVG, offline: mermaid.js itself, run in the QuickJS engine that the optional
    `mermaidx` package embeds (`pip install aks-jumpbox[svg]`); same source, same library: same bytes."""
    import mermaidx  # type: ignore[import-untyped]  # optional; the caller says how to install it

    # securityLevel strict: Mermaid sanitises labels and ignores click directives (labels are escaped anyway).
    out = mermaidx.render(diagram, config={"securityLevel": "strict"}).svg()
    return out if out.endswith("\n") else out + "\n"


LEGEND = (
    "Each flow, host and the firewall carry the verdict of the `check` findings that cover them "
    "(`nsg.<flow>`, `egress.<subnet>.<host>:<port>`, `egress.<subnet>.path` / `.firewall`); "
    "a group edge carries its worst host. unchecked: no finding covered it."
)


def write_verdict_diagram(path: str, plan: Plan, verdicts: Mapping[str, str]) -> None:
    """`check --diagram PATH`: Markdown (a fenced diagram and its legend) for *.md, else the Mermaid source."""
    from aks_jumpbox.adapters.files import write_file

    text = network_diagram(plan, verdicts)
    if path.lower().endswith(".md"):
        text = f"# Network contract, as checked\n\n{LEGEND}\n\n```mermaid\n{text}```\n"
    write_file(path, text)
