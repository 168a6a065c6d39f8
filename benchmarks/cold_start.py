"""Cold start of the CLI, side by side with the bare-Python floor and the Azure SDK import.

Run: uv run python benchmarks/cold_start.py [rounds]
Each round runs every command once, interleaved, so machine noise hits all alike; medians reported.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
PY = sys.executable
out = tempfile.mkdtemp(prefix="aksjb-bench-")
COMMANDS = {
    "python -c pass (floor)": [PY, "-c", "pass"],
    "aks-jumpbox --help": [PY, "-m", "aks_jumpbox.cli.main", "--help"],
    "aks-jumpbox plan (default spec)": [PY, "-m", "aks_jumpbox.cli.main", "plan", "--out", out],
    "python -c 'import azure.mgmt.imagebuilder'": [PY, "-c", "import azure.mgmt.imagebuilder"],
}


def main() -> None:
    times: dict[str, list[float]] = {k: [] for k in COMMANDS}
    for cmd in COMMANDS.values():  # warm the page cache and bytecode once
        subprocess.run(cmd, check=True, capture_output=True)
    for _ in range(ROUNDS):
        for name, cmd in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    floor = statistics.median(times["python -c pass (floor)"])
    print(f"{'command':48} {'median ms':>10} {'x floor':>8}")
    for name, samples in times.items():
        med = statistics.median(samples)
        print(f"{name:48} {med * 1000:10.1f} {med / floor:8.1f}")


if __name__ == "__main__":
    main()
