"""The hostile-input corpus: each case runs the CLI in its own temp root and is judged by its expectation.

reject  exit 2; one `error:` line (or a few located lines) naming what the case names; no traceback;
        nothing anywhere in the temp root changed (out/ not created or unchanged).
inert   exit 0; nothing changed outside the case's `writes`; the payload is inert in what was written
        (scripts parse, the variable block reads back, deb822 has only its fields, ARM evaluates nothing
        the tool did not write itself, the CI steps keep the value one quoted word).
either  whichever of the two the exit code says.
Always: no hang, no connection to the network (the tripwire), no forbidden text in any output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.hostile.case import Case
from tests.hostile.cases import ALL
from tests.hostile.inert import Baseline, check_ci, check_plan_output
from tests.hostile.workspace import Result, Tripwire, Workspace, changed, tree, warm_up

ERROR_LINE = re.compile(r"^\s*(error|Error):")


@pytest.fixture(scope="session")
def init_dir(tmp_path_factory) -> Path:
    """What `aks-jumpbox init` writes: the starting point of every case."""
    d = tmp_path_factory.mktemp("init")
    r = subprocess.run(
        [sys.executable, "-m", "aks_jumpbox.cli.main", "init", "--dir", str(d)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    return d


@pytest.fixture(scope="session")
def baseline(init_dir) -> Baseline:
    """The shapes benign plans render (default, gallery, proxy, mirrored), for the inertness checks."""
    from aks_jumpbox.core.catalog import load_catalog
    from aks_jumpbox.core.lock import load_lock
    from aks_jumpbox.core.plan import build_plan
    from aks_jumpbox.core.spec import parse_spec
    from aks_jumpbox.core.yamlfile import load_yaml
    from aks_jumpbox.render.output import render_files
    from tests.hostile.cases.spec_values import APT, GALLERY

    data = yaml.safe_load((init_dir / "jumpbox.yaml").read_text())
    catalog = load_catalog()
    lock = load_lock(None, catalog)[0]
    proxy = {**data, "build": {k: v for k, v in data["build"].items() if "container_instance" not in k}}
    variants = [
        data,
        {**data, "distribute": {**data["distribute"], "gallery": GALLERY}},
        proxy,
        {**data, "mirror": {"apt": APT, "artifacts": "https://mirror.contoso.example/tools"}},
    ]
    return Baseline.of(
        [
            render_files(build_plan(parse_spec(load_yaml(yaml.safe_dump(v), "t.yaml"), catalog), lock, catalog=catalog))
            for v in variants
        ]
    )


@pytest.fixture(scope="session")
def trip():
    warm_up()  # before the first case forks: every case starts with the tool imported
    t = Tripwire()
    yield t
    t.close()


def _benign_ci(kind: str) -> str:
    from aks_jumpbox.render.ci import CiOptions, azure_devops_pipeline, github_workflow

    opts = CiOptions(spec_file="jumpbox.yaml")
    return github_workflow(opts) if kind == "github" else azure_devops_pipeline(opts)


def _rel(ws: Workspace, path: str) -> str:
    return os.path.relpath(ws.fill(path), ws.root)


def _inside(rel: str, roots: list[str]) -> bool:
    return any(rel == r or rel.startswith(r + "/") for r in roots)


def judge(
    case: Case, ws: Workspace, r: Result, before: dict, after: dict, base: Baseline, connections: int
) -> list[str]:
    if r.hung:
        return [f"hung: no exit within {case.timeout:.0f}s (killed)"]
    problems = []
    if "Traceback" in r.stderr + r.stdout:
        problems.append("a traceback")
    if connections:
        problems.append(f"{connections} connection(s) to the tripwire: a request tried to leave the machine")
    diff = changed(before, after)
    for text in case.forbid:
        leaks = [p for p in diff if after.get(p, ("",))[0] == "file" and text.encode() in (ws.root / p).read_bytes()]
        if text in r.stdout + r.stderr or leaks:
            problems.append(f"{text!r} leaked into the output or {leaks[:3]}")
    accepted = r.code in case.ok_codes
    mode = case.expect if case.expect != "either" else ("inert" if accepted else "reject")
    writes = [_rel(ws, w) for w in case.writes]
    if mode == "reject":
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if ERROR_LINE.match(line)]
        if r.code != 2:
            problems.append(f"exit {r.code}, expected 2 (bad input)")
        if not errors:
            problems.append("no `error:` line on stderr")
        if len(lines) > case.max_lines:
            problems.append(f"{len(lines)} lines on stderr; expected one error line (or a few located ones)")
        if "internal error" in r.stderr.lower():
            problems.append("reported as an internal error, not as bad input")
        for m in case.mentions:
            if m not in r.stderr:
                problems.append(f"the message does not name {m!r}")
        outside = [p for p in diff if not (case.reject_writes and _inside(p, writes))]
        if outside:
            problems.append(f"changed although rejected: {outside[:6]}")
        return problems
    if not accepted:
        problems.append(f"exit {r.code}, expected {'/'.join(map(str, case.ok_codes))}")
    outside = [p for p in diff if not _inside(p, writes)]
    if outside:
        problems.append(f"changed outside {writes}: {outside[:6]}")
    if accepted and case.verify == "plan":
        problems += check_plan_output(
            ws.read_out(case.out),
            base,
            expect_vars=case.expect_vars,
            expect_uris=case.expect_uris,
            expect_arm=case.expect_arm,
        )
    if accepted and case.verify == "ci":
        kind = case.args[1]
        problems += check_ci((ws.work / "wf.yml").read_text(), _benign_ci(kind), kind, case.payload)
    return list(dict.fromkeys(problems))


def run_and_judge(case: Case, tmp_path: Path, init_dir, baseline: Baseline | None, trip: Tripwire) -> None:
    """Run one case in its own workspace and fail with every problem the judge finds."""
    ws = Workspace(tmp_path, case, init_dir, trip)
    try:
        ws.setup()
        before, seen = tree(ws.root), trip.count
        result = ws.run()
        after = tree(ws.root)
        problems = judge(case, ws, result, before, after, baseline, trip.count - seen)
    finally:
        ws.close()
    tail = "\n".join(result.stderr.strip().splitlines()[-6:])
    assert not problems, (
        f"[{case.cls}] {case.id} (expect {case.expect}): "
        + "; ".join(problems)
        + f"\n--- exit {result.code}, stderr (last lines):\n{tail}"
    )


@pytest.mark.parametrize("case", ALL, ids=lambda c: c.id)
def test_hostile_input(case: Case, tmp_path, init_dir, baseline, trip):
    run_and_judge(case, tmp_path, init_dir, baseline, trip)
