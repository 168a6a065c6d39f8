"""Time the preflight evaluators on a large network, next to one HTTP round trip on 127.0.0.1.

    uv run python benchmarks/preflight_eval.py [--seed N] [--repeat N]

Generates (deterministically) an NSG of 4,000 rules and a firewall policy of 10,000 rules, and
evaluates the flows the upstream guide requires (6 NSG flows, 17 egress FQDNs) plus a few adversarial
ones. A local HTTP server answers a GET with an ARM-sized JSON body; its round-trip time stands in for
one ARM call (a real one adds TLS, the network and ARM's own latency, so it is far slower). The figure
that matters is the ratio, measured side by side in this run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.preflight.test_upstream_network import REQUIRED_EGRESS  # noqa: E402

from aks_jumpbox.preflight import firewall, nsg  # noqa: E402
from aks_jumpbox.preflight.addresses import NetworkContext  # noqa: E402

VNET = "10.241.0.0/16"
BUILD = "10.241.0.0/28"


def _outside_prefix(rng: random.Random) -> str:
    """An address outside the build VNet (10.241.0.0/16) and not the host address."""
    kind = rng.random()
    if kind < 0.5:
        second = rng.choice([x for x in range(256) if x != 241])
        return f"10.{second}.{rng.randrange(256)}.0/{rng.choice([24, 26, 28])}"
    if kind < 0.8:
        return f"{rng.randrange(11, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}/32"
    return f"172.{rng.randrange(16, 32)}.{rng.randrange(256)}.0/24"


def _any_prefix(rng: random.Random) -> str:
    return rng.choice(["*", "Internet", "VirtualNetwork", _outside_prefix(rng), "10.241.0.0/24", "Storage"])


def _rand_ports(rng: random.Random) -> str | list[str]:
    k = rng.random()
    if k < 0.15:
        return "*"
    if k < 0.6:
        return str(rng.choice([22, 53, 80, 135, 389, 443, 445, 1433, 3389, 8080, 60001]))
    if k < 0.8:
        lo = rng.randrange(1, 60000)
        return f"{lo}-{lo + rng.randrange(1, 500)}"
    return [str(rng.randrange(1, 65535)) for _ in range(rng.randrange(2, 6))]


def make_nsg(rng: random.Random, n_rules: int = 4000) -> dict[str, Any]:
    """Half inbound, half outbound; the rules the build needs sit at the very end, before deny-all.

    Filler rules use every protocol, port and destination (``*``, Internet, service tags, the VNet
    itself) but their sources lie outside the VNet and the host address, so each one is examined for
    every required flow and none decides it: the worst case for a check.
    """
    rules: list[dict[str, Any]] = []
    per_dir = n_rules // 2
    aib = {
        "Inbound": [
            ("AzureLoadBalancer", "VirtualNetwork", "60001"),
            ("VirtualNetwork", "VirtualNetwork", "60001"),
            ("VirtualNetwork", "VirtualNetwork", "22"),
        ],
        "Outbound": [
            ("VirtualNetwork", "Internet", "443"),
            ("VirtualNetwork", "Internet", "80"),
            ("VirtualNetwork", "VirtualNetwork", "22"),
        ],
    }
    for direction in ("Inbound", "Outbound"):
        filler = per_dir - len(aib[direction]) - 1
        for i in range(filler):
            p: dict[str, Any] = {
                "priority": 100 + i,
                "direction": direction,
                "access": rng.choice(["Allow", "Deny"]),
                "protocol": rng.choice(["Tcp", "Udp", "*", "Icmp"]),
                "sourcePortRange": "*",
            }
            src = [_outside_prefix(rng) for _ in range(rng.choice([1, 1, 1, 3]))]
            dst = [_any_prefix(rng) for _ in range(rng.choice([1, 1, 2]))]
            p["sourceAddressPrefixes" if len(src) > 1 else "sourceAddressPrefix"] = src if len(src) > 1 else src[0]
            p["destinationAddressPrefixes" if len(dst) > 1 else "destinationAddressPrefix"] = (
                dst if len(dst) > 1 else dst[0]
            )
            ports = _rand_ports(rng)
            p["destinationPortRanges" if isinstance(ports, list) else "destinationPortRange"] = ports
            rules.append({"name": f"{direction[:2].lower()}-filler-{i}", "properties": p})
        base = 100 + filler
        for j, (s, d, port) in enumerate(aib[direction]):
            rules.append(
                {
                    "name": f"aib-{direction}-{j}",
                    "properties": {
                        "priority": base + j,
                        "direction": direction,
                        "access": "Allow",
                        "protocol": "Tcp",
                        "sourceAddressPrefix": s,
                        "destinationAddressPrefix": d,
                        "sourcePortRange": "*",
                        "destinationPortRange": port,
                    },
                }
            )
        rules.append(
            {
                "name": f"deny-all-{direction}",
                "properties": {
                    "priority": 4096,
                    "direction": direction,
                    "access": "Deny",
                    "protocol": "*",
                    "sourceAddressPrefix": "*",
                    "destinationAddressPrefix": "*",
                    "sourcePortRange": "*",
                    "destinationPortRange": "*",
                },
            }
        )
    rid = (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
        "/providers/Microsoft.Network/networkSecurityGroups/nsg-big"
    )
    return {"id": rid, "name": "nsg-big", "properties": {"securityRules": rules}}


# The guide's egress table, as the upstream-network tests state it.
REQUIRED_FQDNS = REQUIRED_EGRESS


def make_policy(rng: random.Random, n_rules: int = 10000) -> firewall.FirewallPolicyDocs:
    """10 groups x 10 collections x 100 rules, 40% network and 60% application rules; the build's
    FQDNs are allowed in the last collection of the last group, so every network rule is examined
    for every flow."""
    pid = (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
        "/providers/Microsoft.Network/firewallPolicies/fw-big"
    )
    words = ["contoso", "fabrikam", "northwind", "adatum", "litware", "proseware", "tailspin", "wingtip"]
    tlds = ["com", "net", "org", "io", "dev"]
    groups = []
    per_coll = n_rules // 100
    count = 0
    for g in range(10):
        colls = []
        for c in range(10):
            network = (g * 10 + c) % 5 < 2
            rules = []
            last = g == 9 and c == 9
            for r in range(per_coll):
                count += 1
                if last and r < len(REQUIRED_FQDNS):
                    app, port, fqdn = REQUIRED_FQDNS[r]
                    rules.append(
                        {
                            "ruleType": "ApplicationRule",
                            "name": f"aib-{r}",
                            "sourceAddresses": [BUILD],
                            "protocols": [{"protocolType": app, "port": port}],
                            "targetFqdns": [fqdn],
                        }
                    )
                    continue
                # Filler shares ports and protocols with the build's flows; network rules come from
                # other subnets (never the build subnet), application rules name other sites.
                if network:
                    rules.append(
                        {
                            "ruleType": "NetworkRule",
                            "name": f"n{g}-{c}-{r}",
                            "ipProtocols": [rng.choice(["TCP", "UDP", "Any"])],
                            "sourceAddresses": [_outside_prefix(rng)],
                            "destinationAddresses": [rng.choice(["*", "AzureCloud", _outside_prefix(rng)])],
                            "destinationPorts": [rng.choice(["443", "80", "*", "1-1024", "8443"])],
                        }
                    )
                else:
                    src = (
                        [f"10.{rng.choice([x for x in range(256) if x != 241])}.{rng.randrange(256)}.0/24"]
                        if rng.random() < 0.5
                        else ["*"]
                    )
                    name = f"{rng.choice(words)}{rng.randrange(1000)}.{rng.choice(tlds)}"
                    fq = f"*.{name}" if rng.random() < 0.3 else name
                    proto = rng.choice([[("Https", 443)], [("Http", 80)], [("Http", 80), ("Https", 443)]])
                    rules.append(
                        {
                            "ruleType": "ApplicationRule",
                            "name": f"a{g}-{c}-{r}",
                            "sourceAddresses": src,
                            "protocols": [{"protocolType": t, "port": p} for t, p in proto],
                            "targetFqdns": [fq],
                        }
                    )
            colls.append(
                {
                    "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
                    "name": f"c{g}-{c}",
                    "priority": 100 + c,
                    "action": {"type": "Deny" if rng.random() < 0.3 and not last else "Allow"},
                    "rules": rules,
                }
            )
        groups.append(
            {
                "id": f"{pid}/ruleCollectionGroups/g{g}",
                "name": f"g{g}",
                "properties": {"priority": 1000 + g, "ruleCollections": colls},
            }
        )
    assert count == n_rules
    return firewall.FirewallPolicyDocs({"id": pid, "name": "fw-big", "properties": {}}, tuple(groups))


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median seconds per call."""
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


class _Handler(BaseHTTPRequestHandler):
    body = b"{}"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, a kept-alive client then waits for
    # the delayed ACK (~40 ms). Real servers don't behave like that, so turn it off.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def http_round_trip(body: bytes, repeat: int) -> tuple[float, float]:
    """(median seconds per GET on a kept-alive connection, per GET on a fresh connection)."""
    _Handler.body = body
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def keep() -> None:
            conn.request(
                "GET",
                "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s",
            )
            conn.getresponse().read()

        def fresh() -> None:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/")
            c.getresponse().read()
            c.close()

        keep()
        warm = timed(keep, repeat)
        cold = timed(fresh, repeat)
        conn.close()
    finally:
        server.shutdown()
        server.server_close()
    return warm, cold


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    nsg_doc = make_nsg(rng)
    docs = make_policy(rng)
    ctx = NetworkContext(vnet_prefixes=(VNET,))

    t_nsg_compile = timed(lambda: nsg.compile_nsg(nsg_doc, ctx), 3)
    t_fw_compile = timed(lambda: firewall.compile_policy(docs), 3)
    cn = nsg.compile_nsg(nsg_doc, ctx)
    cp = firewall.compile_policy(docs)

    nsg_flows = [
        nsg.NsgFlow("Inbound", "Tcp", "AzureLoadBalancer", "VirtualNetwork", 60001),
        nsg.NsgFlow("Inbound", "Tcp", "VirtualNetwork", "VirtualNetwork", 60001),
        nsg.NsgFlow("Inbound", "Tcp", "VirtualNetwork", "VirtualNetwork", 22),
        nsg.NsgFlow("Outbound", "Tcp", "VirtualNetwork", "Internet", 443),
        nsg.NsgFlow("Outbound", "Tcp", "VirtualNetwork", "Internet", 80),
        nsg.NsgFlow("Outbound", "Tcp", "VirtualNetwork", "VirtualNetwork", 22),
    ]
    fw_flows = [firewall.FirewallFlow(BUILD, port, fqdn=f, app_protocol=a) for a, port, f in REQUIRED_FQDNS]
    # Adversarial: every filler rule with a VNet-range source overlaps part of a /16 source.
    adversarial = [
        (
            "nsg: 10.0.0.0/8 -> VNet, Tcp 443 (many partial overlaps)",
            lambda: nsg.evaluate(cn, nsg.NsgFlow("Inbound", "Tcp", "10.0.0.0/8", "VirtualNetwork", 443)),
        ),
        (
            "firewall: 10.0.0.0/8 -> HTTPS github.com (many partial sources)",
            lambda: firewall.evaluate(cp, firewall.FirewallFlow.https("10.0.0.0/8", "github.com")),
        ),
    ]

    results = []
    verdicts = []
    for f in nsg_flows:
        r = nsg.evaluate(cn, f)
        verdicts.append((str(f), r.verdict.value, r.evidence))
        results.append(("nsg", timed(lambda f=f: nsg.evaluate(cn, f), args.repeat)))
    for f in fw_flows:
        r = firewall.evaluate(cp, f)
        verdicts.append((str(f), r.verdict.value, r.evidence[:90]))
        results.append(("firewall", timed(lambda f=f: firewall.evaluate(cp, f), args.repeat)))
    adv = [(label, timed(fn, max(3, args.repeat // 3))) for label, fn in adversarial]

    # The first check of a protocol/port on a compiled policy also builds its pre-filter (a scan of
    # every rule); later checks reuse it. Time that first check on fresh compilations.
    def first_check(compile_fn: Callable[[], Any], eval_fn: Callable[[Any], Any]) -> float:
        compiled = compile_fn()
        t = time.perf_counter()
        eval_fn(compiled)
        return time.perf_counter() - t

    cold_nsg = [
        first_check(lambda: nsg.compile_nsg(nsg_doc, ctx), lambda c, f=f: nsg.evaluate(c, f)) for f in nsg_flows
    ]
    cold_fw = [
        first_check(lambda: firewall.compile_policy(docs), lambda c, f=f: firewall.evaluate(c, f))
        for f in (fw_flows[0], fw_flows[1], fw_flows[2])
    ]

    body = json.dumps(nsg_doc["properties"]["securityRules"][:8]).encode()  # a few KB, like a subnet or NSG GET
    warm, cold = http_round_trip(body, max(50, args.repeat * 10))

    nsg_times = [t for k, t in results if k == "nsg"]
    fw_times = [t for k, t in results if k == "firewall"]
    n_fw_rules = len(cp.network_rules) + len(cp.application_rules)
    print(f"NSG rules: {len(cn.inbound) + len(cn.outbound)} (incl. 6 defaults); firewall rules: {n_fw_rules}")
    print(f"compile NSG once:      {t_nsg_compile * 1e3:8.1f} ms")
    print(f"compile policy once:   {t_fw_compile * 1e3:8.1f} ms")
    print(
        f"NSG check (median of {len(nsg_times)} flows):      {statistics.median(nsg_times) * 1e3:8.2f} ms  "
        f"(max {max(nsg_times) * 1e3:.2f})"
    )
    print(
        f"firewall check (median of {len(fw_times)} flows): {statistics.median(fw_times) * 1e3:8.2f} ms  "
        f"(max {max(fw_times) * 1e3:.2f})"
    )
    print(
        f"first NSG check on a fresh compile (builds the pre-filter): median {statistics.median(cold_nsg) * 1e3:.1f} ms"
    )
    print(
        f"first firewall check on a fresh compile:                    median {statistics.median(cold_fw) * 1e3:.1f} ms"
    )
    for label, t in adv:
        print(f"adversarial {label}: {t * 1e3:8.1f} ms")
    print(f"HTTP GET 127.0.0.1, kept-alive connection: {warm * 1e3:8.3f} ms")
    print(f"HTTP GET 127.0.0.1, new connection:        {cold * 1e3:8.3f} ms")
    total_checks = sum(nsg_times) + sum(fw_times)
    print(
        f"all {len(results)} required flows: {total_checks * 1e3:.1f} ms = "
        f"{total_checks / warm:.1f}x one kept-alive local GET, {total_checks / cold:.1f}x one new-connection local GET"
    )
    print(f"ratio NSG check / local GET (kept-alive):      {statistics.median(nsg_times) / warm:6.1f}")
    print(f"ratio firewall check / local GET (kept-alive): {statistics.median(fw_times) / warm:6.1f}")
    bad = [v for v in verdicts if v[1] != "allow"]
    print(f"verdicts: {len(verdicts) - len(bad)} allow, {len(bad)} other" + "".join(f"\n  {v}" for v in bad))


if __name__ == "__main__":
    main()
