"""What the hostile-input bounds cost on ordinary input, side by side with the unbounded library calls.

Run: uv run python benchmarks/input_bounds.py [rounds]
In one process, interleaved, medians of `rounds` rounds (default 200) of each pair:
- the default spec: `load_yaml` (duplicate keys refused, alias expansion and depth measured on the node
  graph, a line for every key) against PyYAML's own `yaml.safe_load`;
- the default lock: `load_json` (duplicate keys and NaN refused, depth bounded) against `json.loads`;
- the same lock read from disk: `read_input` (regular files only, size-limited, UTF-8 checked) against
  `Path.read_text`;
- writing the default plan's files: `write_all` (exclusive temp file, no link followed, fsync, rename)
  against `Path.write_text` per file.
The alias bomb that the bounds exist for is timed once, refused.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from aks_jumpbox.adapters.files import SPEC_LIMIT, load_json, read_input, write_all
from aks_jumpbox.core.catalog import load_catalog
from aks_jumpbox.core.errors import SpecError
from aks_jumpbox.core.lock import default_lock_text, parse_lock
from aks_jumpbox.core.plan import build_plan
from aks_jumpbox.core.spec import default_spec_text, parse_spec
from aks_jumpbox.core.yamlfile import load_yaml
from aks_jumpbox.render.output import render_files

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
BOMB = (
    "\n".join(
        ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
        + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(8)]
    )
    + "\n"
)


def _median_ms(fn: Callable[[], object], samples: list[float]) -> None:
    start = time.perf_counter()
    fn()
    samples.append((time.perf_counter() - start) * 1000)


def main() -> None:
    spec_text, lock_text = default_spec_text(), default_lock_text()
    catalog = load_catalog()
    spec = parse_spec(load_yaml(spec_text, "jumpbox.yaml"), catalog)
    lock = parse_lock(json.loads(lock_text), "jumpbox.lock.json", catalog)
    files = render_files(build_plan(spec, lock, catalog=catalog))
    work = Path(tempfile.mkdtemp(prefix="aksjb-bounds-"))
    (work / "lock.json").write_text(lock_text, encoding="utf-8")

    def plain_write() -> None:
        for rel, text in files.items():
            path = work / "plain" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    pairs: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "spec: load_yaml vs yaml.safe_load": (
            lambda: load_yaml(spec_text, "jumpbox.yaml"),
            lambda: yaml.safe_load(spec_text),
        ),
        "lock: load_json vs json.loads": (
            lambda: load_json(lock_text, "jumpbox.lock.json"),
            lambda: json.loads(lock_text),
        ),
        "lock file: read_input vs read_text": (
            lambda: read_input(work / "lock.json", what="lock", limit=SPEC_LIMIT),
            lambda: (work / "lock.json").read_text(encoding="utf-8"),
        ),
        f"plan files ({len(files)}): write_all vs write_text": (lambda: write_all(work / "safe", files), plain_write),
    }
    times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in pairs}
    for _ in range(ROUNDS):
        for name, (bounded, plain) in pairs.items():
            _median_ms(bounded, times[name][0])
            _median_ms(plain, times[name][1])
    print(f"{'pair':52} {'bounded ms':>11} {'plain ms':>9} {'ratio':>6}")
    for name, (bounded_ms, plain_ms) in times.items():
        b, p = statistics.median(bounded_ms), statistics.median(plain_ms)
        print(f"{name:52} {b:11.3f} {p:9.3f} {b / p:6.1f}")
    start = time.perf_counter()
    try:
        load_yaml(BOMB, "bomb.yaml")
        verdict = "accepted (!)"
    except SpecError:
        verdict = "refused"
    print(f"alias bomb (10^9 leaves if expanded): {verdict} in {(time.perf_counter() - start) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
