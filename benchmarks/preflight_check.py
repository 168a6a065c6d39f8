"""A full preflight `check` on a snapshot folder, next to one ARM round trip to the local emulator.

    uv run python benchmarks/preflight_check.py [rounds]

In one process, interleaved, medians of ``rounds``:

* ``check --snapshot`` as the command runs it (load the folder, then every check) on the upstream
  guide's locked-down network (tests/preflight/world.py), and on the same world with a 4,000-rule NSG
  and a 10,000-rule firewall policy (benchmarks/preflight_eval.py's worst-case generators);
* the live check: the same checks reading the ARM emulator through the real SDK (one HTTPS server on
  127.0.0.1, TLS, the SDK's pipeline and retry policy), and how many ARM requests it makes;
* one ARM round trip: a GET of the VNet through the same client, on a kept-alive connection;
* the live check again with 50 ms added before every emulator answer (a stand-in for the WAN and ARM),
  reading the questions known up front concurrently (as `check` does) and one at a time.

A real ARM call adds the WAN and ARM itself (typically 50-300 ms), so the ratio to a *local* round trip
is a lower bound on how much cheaper the offline check is than reading Azure.
"""

from __future__ import annotations

import copy
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from preflight_eval import BUILD, REQUIRED_FQDNS, make_nsg, make_policy  # noqa: E402
from tests.emulator.app import ArmEmulator  # noqa: E402
from tests.emulator.credentials import FakeJwtCredential  # noqa: E402
from tests.emulator.plugin import ARM_AUDIENCE  # noqa: E402
from tests.emulator.server import ArmServer  # noqa: E402
from tests.emulator.tls import TestCA  # noqa: E402
from tests.preflight.world import NSG_ID, POLICY_ID, World, seed_emulator  # noqa: E402

from aks_jumpbox.azure.clients import Azure, Tuning  # noqa: E402
from aks_jumpbox.azure.cloud import select_cloud  # noqa: E402
from aks_jumpbox.azure.preflight import LiveSource  # noqa: E402
from aks_jumpbox.preflight.checks import run_checks  # noqa: E402
from aks_jumpbox.preflight.snapshot import load_snapshot  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
WAN_ROUNDS = 3
LATENCY = 0.05


def big_world() -> World:
    """The upstream world with the worst-case 4,000-rule NSG and 10,000-rule policy."""
    w = World.upstream()
    rng = random.Random(6)
    nsg = make_nsg(rng)
    w.docs["nsg.json"]["properties"]["securityRules"] = nsg["properties"]["securityRules"]
    w.vnet["properties"]["addressSpace"]["addressPrefixes"] = ["10.241.0.0/16"]
    docs = make_policy(rng)
    groups = []
    for g in docs.groups:
        g = copy.deepcopy(dict(g))
        g["id"] = f"{POLICY_ID}/ruleCollectionGroups/{g['name']}"
        g["type"] = "Microsoft.Network/firewallPolicies/ruleCollectionGroups"
        groups.append(g)
    # The plan needs hosts the 2022 guide did not list; allow them where the guide's FQDNs are.
    listed = {(f, p) for _, p, f in REQUIRED_FQDNS}
    last = groups[-1]["properties"]["ruleCollections"][-1]["rules"]
    for e in w.plan.network.egress:
        if (e.fqdn, e.port) not in listed and "build" in e.subnets:
            last.insert(
                0,
                {
                    "ruleType": "ApplicationRule",
                    "name": f"plan-{e.fqdn}-{e.port}",
                    "sourceAddresses": [BUILD],
                    "protocols": [{"protocolType": e.protocol, "port": e.port}],
                    "targetFqdns": [e.fqdn],
                },
            )
    policy = {
        "id": POLICY_ID,
        "name": "fw-policies-eastus2",
        "type": "Microsoft.Network/firewallPolicies",
        "properties": {"ruleCollectionGroups": [{"id": g["id"]} for g in groups]},
    }
    w.docs["firewall-policy.json"] = [policy, *groups]
    assert w.docs["nsg.json"]["id"] == NSG_ID
    return w


def median_ms(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="preflight-bench-"))
    small = World.upstream()
    small_dir = small.write(work / "small")
    big = big_world()
    big_dir = big.write(work / "big")
    assert run_checks(small.plan, load_snapshot(small_dir)).ok
    big_report = run_checks(big.plan, load_snapshot(big_dir))
    assert big_report.ok, str(big_report)

    ca = TestCA.create(work / "ca")
    os.environ["REQUESTS_CA_BUNDLE"] = str(ca.ca_file)
    server = ArmServer(ca).start()
    try:
        arm = ArmEmulator()
        server.mount(arm)
        live_world = seed_emulator(arm, "proxy")
        cloud = select_cloud("AzureCloud", arm_endpoint=arm.base_url, arm_audience=ARM_AUDIENCE, env={})
        az = Azure(
            cloud,
            arm.subscription_id,
            Tuning(),
            credential=FakeJwtCredential(arm.config.caller_principal_id, arm.tenant_id),
        )
        live = LiveSource(az)
        vnet_id = live_world.docs["vnet.json"]["id"]
        live.resource(vnet_id)  # connect and authenticate once
        arm.reset_counts()
        report = run_checks(live_world.plan, live)
        assert report.ok, str(report)
        requests = len(arm.requests)
        checks = len(report.checks)

        serial = LiveSource(az)
        serial.concurrent_reads = False
        handle = arm.handle

        def slow(req):
            time.sleep(LATENCY)
            return handle(req)

        rows: dict[str, list[float]] = {k: [] for k in ("small", "big", "live", "get", "wan", "wan-serial")}
        for i in range(ROUNDS):  # interleaved, so load changes hit every figure alike
            rows["small"].append(median_ms(lambda: run_checks(small.plan, load_snapshot(small_dir)), 1))
            rows["big"].append(median_ms(lambda: run_checks(big.plan, load_snapshot(big_dir)), 1))
            rows["live"].append(median_ms(lambda: run_checks(live_world.plan, live), 1))
            rows["get"].append(median_ms(lambda: live.resource(vnet_id), 1))
            if i < WAN_ROUNDS:
                arm.handle = slow
                rows["wan"].append(median_ms(lambda: run_checks(live_world.plan, live), 1))
                rows["wan-serial"].append(median_ms(lambda: run_checks(live_world.plan, serial), 1))
                arm.handle = handle
        az.close()
    finally:
        server.stop()
    m = {k: statistics.median(v) for k, v in rows.items()}
    print(f"rounds: {ROUNDS}; checks per run: {checks} (upstream world), {len(big_report.checks)} (big)")
    print(f"ARM requests per live check: {requests}")
    print("| what | median ms | × one ARM GET |")
    print("|---|---:|---:|")
    for key, label in (
        ("get", "one ARM GET (VNet) to the local emulator, kept-alive, through the SDK"),
        ("small", "`check --snapshot`, upstream locked-down network (load + all checks)"),
        ("big", "`check --snapshot`, 4,000 NSG rules + 10,000 firewall rules"),
        ("live", f"`check` live against the local emulator ({requests} ARM requests)"),
        ("wan", f"`check` live, {LATENCY * 1000:.0f} ms per ARM answer, first questions concurrent"),
        ("wan-serial", f"`check` live, {LATENCY * 1000:.0f} ms per ARM answer, one at a time"),
    ):
        print(f"| {label} | {m[key]:.1f} | {m[key] / m['get']:.1f} |")


if __name__ == "__main__":
    main()
