"""The rendered provision.sh's download phase versus fetching the same artifacts one by one.

Run: uv run python benchmarks/download_parallel.py [rounds]     (no root needed)

A loopback HTTPS mirror (the rootfs harness's) serves stand-in artifacts of the real tools'
sizes, throttled like a distant mirror: a fixed latency before every response and a fixed
bandwidth per connection. Each round times, side by side:
  parallel    the download step of the rendered provision.sh (its own fetch function and loop,
              cut out of the script and run with bash until every download has finished)
  sequential  the same URLs fetched one after another with curl (the upstream's way)
and prints medians, their ratio, and how close the parallel phase comes to its physical limit:
the transfer time of the largest artifact alone (latency + size / bandwidth).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.rootfs.harness.archives import build_stand_in
from tests.rootfs.harness.mirror import Mirror
from tests.rootfs.harness.world import default_tools, lock_document, render_plan

from aks_jumpbox.core.catalog import load_catalog
from aks_jumpbox.core.spec import default_spec_text

LATENCY = 0.050  # s before each response
RATE = 10_000_000  # bytes per second per connection
MB = 1_000_000
# Approximate sizes of the real linux-amd64 artifacts.
SIZES = {"kubectl": 57, "kubelogin": 30, "helm": 17, "flux": 25, "azwi": 20, "osm": 25, "terraform": 30}


def download_phase(provision: str, work: Path) -> str:
    """A bash program: provision.sh's definitions and its download step, then wait for every job."""
    prefix = provision.split('\n[ "$(id -u)" -eq 0 ]', 1)[0]
    m = re.search(r"^step download\n(.*?)^step_end$", provision, re.MULTILINE | re.DOTALL)
    if not m:
        raise SystemExit("the rendered provision.sh has no `step download ... step_end` block")
    return (
        f'{prefix}\nWORK={work}\nmkdir -p "$WORK"\nstep download\n{m.group(1)}'
        'for n in "${!DL_PID[@]}"; do wait "${DL_PID[$n]}" || { cat "$WORK/$n.download.log"; exit 1; }; done\n'
        "step_end\n"
    )


def sequential(urls: list[str], work: Path) -> str:
    lines = [f"curl --fail --silent --show-error --location -o {work}/{i} '{u}'" for i, u in enumerate(urls)]
    return "set -euo pipefail\n" + "\n".join(lines) + "\n"


def timed(script: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"download failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    catalog = load_catalog()
    spec = yaml.safe_load(default_spec_text())
    tmp = Path(tempfile.mkdtemp(prefix="aksjb-bench-dl-"))
    try:
        stand_ins = {}
        for name, version in default_tools(spec).items():
            size = SIZES.get(name, 20) * MB
            s = build_stand_in(catalog.tools[name], version, "amd64", pad=size)
            stand_ins[name] = s
            s.publish(tmp / "mirror" / "artifacts")
        with Mirror(tmp / "mirror") as mirror:
            spec["mirror"] = {"artifacts": mirror.url("artifacts"), "ca_certificate": mirror.ca_pem}
            rendered = render_plan(tmp / "plan", spec, lock_document(stand_ins, [spec["azure_cli"]["version"]]))
            provision = rendered.provision.read_text()
            ca = tmp / "ca.pem"
            ca.write_text(mirror.ca_pem)
            env = {"PATH": "/usr/bin:/bin", "CURL_CA_BUNDLE": str(ca), "LANG": "C.UTF-8", "HOME": str(tmp)}
            urls = [mirror.url(f"artifacts/{s.tool}/{s.version}/{s.arch}/{s.basename}") for s in stand_ins.values()]
            mirror.throttle(latency=LATENCY, rate=RATE)
            par, seq = [], []
            for r in range(rounds):
                for kind in ("par", "seq") if r % 2 == 0 else ("seq", "par"):
                    work = tmp / f"{kind}-{r}"
                    work.mkdir()
                    if kind == "par":
                        par.append(timed(download_phase(provision, work), env))
                        for s in stand_ins.values():  # the phase really fetched the right bytes
                            got = hashlib.sha256((work / "cache" / s.basename).read_bytes()).hexdigest()
                            assert got == s.sha256, s.tool
                    else:
                        seq.append(timed(sequential(urls, work), env))
                    shutil.rmtree(work)
        sizes = {s.tool: len(s.artifact) for s in stand_ins.values()}
        largest = max(sizes, key=sizes.get)
        limit = LATENCY + sizes[largest] / RATE
        serial_floor = sum(LATENCY + b / RATE for b in sizes.values())
        p, q = statistics.median(par), statistics.median(seq)
        print(
            f"{len(sizes)} artifacts, {sum(sizes.values()) / MB:.0f} MB; mirror: {LATENCY * 1000:.0f} ms latency,"
            f" {RATE / MB:.0f} MB/s per connection; {rounds} interleaved rounds, medians"
        )
        print(f"{'':38} {'seconds':>8}")
        print(f"{'sequential curl (upstream way)':38} {q:8.2f}   (its floor, sum of transfers: {serial_floor:.2f})")
        print(f"{'provision.sh download phase':38} {p:8.2f}")
        print(f"{'physical limit (largest: ' + largest + ')':38} {limit:8.2f}")
        print(f"speed-up sequential / parallel: {q / p:.2f}x; parallel phase / physical limit: {p / limit:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
