"""`aks-jumpbox try` wall time on the default spec with the cached base image, broken down by step.

Run (as root: the base disk is built with mmdebstrap): uv run python benchmarks/try_wall.py [--accel tcg]

The Debian 12 test base disk (tests/vm/basedisk.py, cached by recipe hash, built first if missing) and the
loopback mirror world of the VM tests (stand-in tools, signed apt repositories, mirror mode); then one
`aks-jumpbox try -o json` run, timed from outside, and its own phase and step durations. The figure to
compare is Image Builder's build, "up to 30 minutes" for this image by the upstream reference.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.rootfs.harness.world import create_world  # noqa: E402
from tests.vm.basedisk import build_base_disk  # noqa: E402
from tests.vm.conftest import MIRROR_HOST  # noqa: E402
from tests.vm.test_try import run_try  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accel", default="auto", choices=["auto", "kvm", "tcg"])
    args = parser.parse_args()
    t0 = time.monotonic()
    disk = build_base_disk(log=print)
    how = f"built in {disk.build_seconds:.0f}s" if disk.build_seconds else "cached"
    print(f"base disk {disk.key}: {how}")
    with tempfile.TemporaryDirectory(prefix="try-bench-") as tmp:
        world = create_world(disk, Path(tmp) / "world", mirror_host=MIRROR_HOST, os_key=disk.os_key)  # type: ignore[arg-type]
        try:
            print(f"mirror world ready in {time.monotonic() - t0:.0f}s")
            load = os.getloadavg()[0]
            started = time.monotonic()
            rc, doc, _ = run_try(world, disk, Path(tmp) / "plan", world.spec(), "--accel", args.accel)
            wall = time.monotonic() - started
        finally:
            world.mirror.stop()
    print(
        f"\nverdict {doc['verdict']} (exit {rc}), accelerator {doc['accelerator']}, "
        f"load average at start {load:.1f} on {os.cpu_count()} cores"
    )
    print("\n| phase / step | seconds |\n|---|---:|")
    print(f"| boot to SSH | {doc['seconds'].get('boot', 0):.0f} |")
    for s in doc["steps"]:
        print(f"| {s['phase']}: {s['name']} | {s['seconds'] or 0:.0f} |")
    for phase, label in (
        ("customize", "customize (whole script)"),
        ("validate", "validate (whole script)"),
        ("reboot", "reboot to SSH"),
        ("checks", "outside-in checks"),
    ):
        if phase in doc["seconds"]:
            print(f"| {label} | {doc['seconds'][phase]:.0f} |")
    print(f"| **total (`try`'s own)** | **{doc['seconds']['total']:.0f}** |")
    print(f"| wall, process start to exit | {wall:.0f} |")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
