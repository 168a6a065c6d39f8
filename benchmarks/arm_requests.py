"""ARM requests per successful build and per unchanged re-run, counted by the test suite's ARM emulator,
and the wall time of an unchanged re-run side by side with the CLI's offline `plan` (same process start,
same spec) as the floor.

Run: uv run python benchmarks/arm_requests.py [rounds]      (needs Azurite: see .ci/run)
The product runs as a subprocess and reaches the emulator through its custom-cloud settings only.
"""

from __future__ import annotations

import collections
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The emulator lives in the test suite, importable once the repository root is on the path.
from tests.emulator.app import ArmEmulator  # noqa: E402
from tests.emulator.azurite import Azurite, AzuriteBlobs, find_binary  # noqa: E402
from tests.emulator.plugin import product_env  # noqa: E402
from tests.emulator.server import ArmServer  # noqa: E402
from tests.emulator.tls import TestCA  # noqa: E402
from tests.scenarios.conftest import BUILD_RG, IMAGE_RG, LOCATION, NET_RG, spec_data, step_output  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def cli(env: dict, spec: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "aks_jumpbox.cli.main", *args, "-f", str(spec)],
        env=env,
        capture_output=True,
        text=True,
        cwd=spec.parent,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return elapsed, result


def fresh_world(server: ArmServer, azurite: Azurite, ca: TestCA, work: Path) -> tuple[ArmEmulator, dict, Path]:
    import yaml

    arm = ArmEmulator(blobs=AzuriteBlobs(azurite))
    server.mount(arm)
    net = arm.seed_build_network(NET_RG, location=LOCATION)
    arm.seed_resource_group(BUILD_RG, LOCATION)
    arm.seed_resource_group(IMAGE_RG, LOCATION)
    arm.imagebuilder.customizer_output = step_output
    arm.imagebuilder.validator_output = step_output
    home = Path(tempfile.mkdtemp(dir=work))
    env = {**product_env(arm, ca, home), "AKS_JUMPBOX_WATCH_SECONDS": "0.02", "AKS_JUMPBOX_POLL_SECONDS": "0.05"}
    spec = home / "jumpbox.yaml"
    spec.write_text(yaml.safe_dump(spec_data(arm.subscription_id, net), sort_keys=False))
    return arm, env, spec


def main() -> None:
    binary = find_binary()
    if binary is None:
        raise SystemExit("Azurite is not installed (npm install --no-save azurite@3.35.0)")
    work = Path(tempfile.mkdtemp(prefix="aksjb-bench-"))
    ca = TestCA.create(work / "ca")
    server = ArmServer(ca).start()
    azurite = Azurite(binary, ca, work / "azurite").start()
    first_counts: list[int] = []
    rerun_counts: list[int] = []
    kinds: collections.Counter = collections.Counter()
    rerun_kinds: collections.Counter = collections.Counter()
    times: dict[str, list[float]] = {
        "plan --no-write (offline floor)": [],
        "build, unchanged re-run": [],
        "deploy --what-if": [],
    }
    watch_gets: list[int] = []
    try:
        for _ in range(ROUNDS):
            arm, env, spec = fresh_world(server, azurite, ca, work)
            _, first = cli(env, spec, "build", "--output", "json")
            assert json.loads(first.stdout)["run"]["runState"] == "Succeeded"
            first_counts.append(len(arm.requests))
            kinds += arm.counts()
            # All template GETs but what-if's one read: the looks at the running build.
            watch_gets.append(arm.count("GET", kind="Microsoft.VirtualMachineImages/imageTemplates") - 1)
            # Interleave the timed commands so machine noise hits all alike.
            for _ in range(3):
                arm.reset_counts()
                t, again = cli(env, spec, "build", "--output", "json")
                assert json.loads(again.stdout)["action"] == "skip"
                times["build, unchanged re-run"].append(t)
                rerun_counts.append(len(arm.requests))
                rerun_kinds = arm.counts()
                times["plan --no-write (offline floor)"].append(cli(env, spec, "plan", "--no-write")[0])
                times["deploy --what-if"].append(cli(env, spec, "deploy", "--what-if")[0])
    finally:
        azurite.stop()
        server.stop()

    print(f"rounds: {ROUNDS} (fresh emulator each), 3 timed re-runs per round\n")
    print(
        f"ARM requests, first build (median): {statistics.median(first_counts):.0f} "
        f"(of which looks at the running template: {statistics.median(watch_gets):.0f}; "
        "this count depends on the emulator's pace and the watch interval)"
    )
    print(
        f"ARM requests, unchanged re-run:     {statistics.median(rerun_counts):.0f} (all GET: "
        f"{all(k.startswith('GET ') for k in rerun_kinds)})\n"
    )
    print("first build, requests by kind (per build):")
    for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n / ROUNDS:5.1f}  {kind}")
    print("\nunchanged re-run, requests by kind:")
    for kind, n in sorted(rerun_kinds.items()):
        print(f"  {n:5d}  {kind}")
    floor = statistics.median(times["plan --no-write (offline floor)"])
    print(f"\n{'command':36} {'median ms':>10} {'x plan':>8}")
    for name, samples in times.items():
        med = statistics.median(samples)
        print(f"{name:36} {med * 1000:10.1f} {med / floor:8.2f}")


if __name__ == "__main__":
    main()
