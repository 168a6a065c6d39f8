"""The guest's network: exactly the hosts the build would reach, enforced by QEMU's user-mode network.

`-netdev user,restrict=on` isolates the guest: no packet is routed to the host or beyond, and only
the forwarding rules given explicitly work (https://www.qemu.org/docs/master/system/invocation.html,
`-netdev user`, `restrict` and `guestfwd`). Each allowed host:port gets one `guestfwd` rule on a guest
address of its own (10.0.2.100 and up); the guest's /etc/hosts names that address (written by the
seed), and QEMU runs a relay to that one host:port for each connection. TLS stays end to end between
the guest and the real server, which the guest verifies by its name. Nothing else is reachable: no
DNS, no other port, not the host's loopback (SSH in is a `hostfwd` from 127.0.0.1 on the host).

With a mirror, the hosts are those of the plan's URLs: the mirror alone. Without one, they are the
plan's URLs' hosts plus the network contract's derived egress rows (redirect targets), wildcards left
out (they cannot be forwarded by name).
"""

from __future__ import annotations

import ipaddress
import shlex
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit

from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.model import DERIVED, Plan

FIRST_GUEST_HOST = 100  # 10.0.2.100: above slirp's DHCP range (10.0.2.15 ...) and its services (.2, .3)
LAST_GUEST_HOST = 250


@dataclass(frozen=True)
class Forward:
    host: str  # the name the guest uses (and verifies TLS against)
    port: int
    guest_ip: str  # the guest-side address of the forward
    target: str  # where the relay connects, on the host's side (host, or an override)


def _url_hosts(plan: Plan) -> list[tuple[str, int]]:
    urls: list[str] = []
    for a in plan.artifacts:
        urls += [a.url, a.checksum_url, *([a.checksum_order_url] if a.checksum_order_url else [])]
    cli = plan.azure_cli
    urls += [cli.repo_url, cli.key_url, *(w.url for w in cli.wheels)]
    urls += [u for u in (plan.apt.archive, plan.apt.security) if u]
    out: list[tuple[str, int]] = []
    for url in urls:
        parts = urlsplit(url)
        if parts.hostname:
            out.append((parts.hostname.lower(), parts.port or (443 if parts.scheme == "https" else 80)))
    return out


def allowed_endpoints(plan: Plan) -> list[tuple[str, int]]:
    """(host, port) pairs the guest may reach, sorted: what the rendered scripts download from."""
    endpoints = set(_url_hosts(plan))
    if not plan.spec.mirror.artifacts:
        for rule in plan.network.egress:
            if (
                "build" in rule.subnets
                and rule.service_tag is None
                and rule.basis.kind == DERIVED
                and "*" not in rule.fqdn
                and rule.protocol in ("Https", "Http")
            ):
                endpoints.add((rule.fqdn.lower(), rule.port))
    return sorted(endpoints)


def forwards(endpoints: list[tuple[str, int]], resolve: dict[tuple[str, int], str] | None = None) -> list[Forward]:
    """One guest address per host name; `resolve` maps (host, port) to the address the relay connects to."""
    addresses: dict[str, str] = {}
    out = []
    for host, port in endpoints:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            raise UserError(
                f"try cannot forward {host}:{port}: the guest reaches each allowed host by its name, and this URL names"
                " an IP address.",
                fix="Name the mirror by a DNS name in jumpbox.yaml (its certificate names it already), and use"
                " --resolve HOST:PORT:ADDRESS if this machine does not resolve it.",
            )
        if host not in addresses:
            n = FIRST_GUEST_HOST + len(addresses)
            if n > LAST_GUEST_HOST:
                raise UserError(f"try can forward at most {LAST_GUEST_HOST - FIRST_GUEST_HOST + 1} hosts.")
            addresses[host] = f"10.0.2.{n}"
        out.append(Forward(host, port, addresses[host], (resolve or {}).get((host, port), host)))
    return out


def hosts_lines(fwds: list[Forward]) -> list[str]:
    """The guest's /etc/hosts lines for the forwards."""
    seen: dict[str, str] = {}
    for f in fwds:
        seen.setdefault(f.host, f.guest_ip)
    return [f"{ip} {host}" for host, ip in seen.items()]


def relay_command(target: str, port: int) -> str:
    """The command QEMU runs per guest connection (cmd: of guestfwd): this Python, the relay module."""
    argv = [sys.executable, "-m", "aks_jumpbox.vm.relay", target, str(port)]
    for word in argv:
        # QEMU splits the command on spaces and reads commas as option separators: refuse both.
        if " " in word or "," in word or shlex.quote(word) != word:
            raise UserError(
                f"try cannot run its relay from {word!r}: QEMU's guestfwd needs a path without spaces or commas.",
                fix="Install aks-jumpbox (or its virtual environment) under a path without spaces.",
            )
    return " ".join(argv)


def netdev(ssh_port: int, fwds: list[Forward]) -> str:
    """The -netdev value: restricted user-mode network, SSH in from the host's loopback, the forwards out."""
    parts = ["user", "id=net0", "restrict=on", f"hostfwd=tcp:127.0.0.1:{ssh_port}-:22"]
    for f in fwds:
        parts.append(f"guestfwd=tcp:{f.guest_ip}:{f.port}-cmd:{relay_command(f.target, f.port)}")
    return ",".join(parts)
