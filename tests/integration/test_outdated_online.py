"""`outdated` and `lock --upgrade` against a release feed and an artifact mirror on 127.0.0.1 HTTPS."""

from __future__ import annotations

import json

import pytest
import yaml

from aks_jumpbox.core.spec import default_spec_text
from tests.conftest import run_cli
from tests.integration.test_lock_online import _publish
from tests.support.https_server import StaticHttps
from tests.support.release_feed import NEWEST, write_feed

PINS = {"kubectl": "1.37.1", "helm": "4.3.0", "kubelogin": "0.2.19", "terraform": "1.16.5", "flux": "2.9.6"}


@pytest.fixture
def world(tmp_path):
    """The feed under /feed, checksum files for old and new versions under /m, and a project."""
    www = tmp_path / "www"
    write_feed(www / "feed")
    _publish(www / "m", PINS)
    _publish(www / "m", {n: NEWEST[n] for n in PINS if NEWEST[n] != PINS[n]})
    with StaticHttps(www, tmp_path) as srv:
        text = default_spec_text()
        tools_block = text[text.index("tools:\n") : text.index("\n\n", text.index("tools:\n"))]
        pins = "tools:\n" + "".join(f"  {n}: {v}   # keep this comment ({n})\n" for n, v in PINS.items())
        text = text.replace(tools_block + "\n", pins)
        text += f"mirror:\n  artifacts: {srv.url}/m\n"
        spec = tmp_path / "jumpbox.yaml"
        spec.write_text(text)
        (tmp_path / "jumpbox.lock.json").write_text('{"schema": "aks-jumpbox/lock/v1", "tools": {}}')
        env = {"SSL_CERT_FILE": str(srv.ca_file)}
        assert run_cli("lock", "-f", str(spec), env=env).returncode == 0
        yield srv, spec, env


def test_outdated_reads_the_feed_from_the_environment(world):
    srv, spec, env = world
    r = run_cli(
        "outdated",
        "-f",
        str(spec),
        "-o",
        "json",
        "--as-of",
        "2027-01-20",
        env={**env, "AKS_JUMPBOX_RELEASE_FEED": f"{srv.url}/feed"},
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    pins = {p["name"]: p for p in doc["pins"]}
    for name in PINS:
        assert pins[name]["newest"] == NEWEST[name], name
        assert pins[name]["status"] == ("current" if NEWEST[name] == PINS[name] else "outdated")
    assert pins["azure-cli"]["newest"] == "2.91.0"
    assert pins["ubuntu-24.04"]["status"] == "current" and pins["ubuntu-24.04"]["flags"] == []
    assert run_cli("outdated", "-f", str(spec), "--feed", f"{srv.url}/feed", "--exit-code", env=env).returncode == 1


def test_outdated_fails_when_a_source_cannot_be_read(world):
    srv, spec, env = world
    r = run_cli("outdated", "-f", str(spec), "--feed", f"{srv.url}/nowhere", env=env)
    assert r.returncode == 1 and "HTTP 404" in r.stdout
    bad = run_cli("outdated", "-f", str(spec), "--feed", "http://127.0.0.1:1/feed", env=env)
    assert bad.returncode == 2 and "--feed" in bad.stderr and "https://" in bad.stderr


def test_lock_upgrade_moves_pins_keeps_comments_and_pins_new_digests(world):
    srv, spec, env = world
    before = spec.read_text()
    r = run_cli("lock", "-f", str(spec), "--upgrade", "--feed", f"{srv.url}/feed", env=env)
    assert r.returncode == 0, r.stderr
    assert "upgrade helm 4.3.0 -> 4.3.1" in r.stdout and "upgrade azure-cli 2.90.0 -> 2.91.0" in r.stdout
    after = spec.read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed == [
        ("  kubectl: 1.37.1   # keep this comment (kubectl)", "  kubectl: 1.38.2   # keep this comment (kubectl)"),
        ("  helm: 4.3.0   # keep this comment (helm)", "  helm: 4.3.1   # keep this comment (helm)"),
        (
            "  terraform: 1.16.5   # keep this comment (terraform)",
            "  terraform: 1.16.6   # keep this comment (terraform)",
        ),
        ("  flux: 2.9.6   # keep this comment (flux)", "  flux: 2.10.0   # keep this comment (flux)"),
        ("  version: 2.90.0", "  version: 2.91.0"),
    ]
    lock = json.loads((spec.parent / "jumpbox.lock.json").read_text())
    assert {n: [e["version"] for e in entries] for n, entries in lock["tools"].items()} == {
        n: [NEWEST[n]] for n in PINS
    }
    assert all(
        a["sha256"] and "checksum-file" in a["source"]
        for entries in lock["tools"].values()
        for e in entries
        for a in e["artifacts"].values()
    )
    assert lock["azureCli"]["versions"] == ["2.91.0"]
    planned = run_cli("plan", "-f", str(spec), "--no-write", "-o", "json")
    assert planned.returncode == 0, planned.stderr
    again = run_cli("lock", "-f", str(spec), "--upgrade", "--feed", f"{srv.url}/feed", env=env)
    assert again.returncode == 0 and "every pin is at its newest release" in again.stdout
    assert spec.read_text() == after


def test_lock_upgrade_of_one_tool_and_bad_names(world):
    srv, spec, env = world
    feed = ["--feed", f"{srv.url}/feed"]
    r = run_cli("lock", "-f", str(spec), "--upgrade", "helm", *feed, env=env)
    assert r.returncode == 0, r.stderr
    data = yaml.safe_load(spec.read_text())
    assert data["tools"] == {**PINS, "helm": "4.3.1"} and data["azure_cli"]["version"] == "2.90.0"
    unknown = run_cli("lock", "-f", str(spec), "--upgrade", "k9s", *feed, env=env)
    assert unknown.returncode == 2 and "'k9s' is not pinned" in unknown.stderr
    no_flag = run_cli("lock", "-f", str(spec), "helm", env=env)
    assert no_flag.returncode == 2 and "--upgrade" in no_flag.stderr
    before = spec.read_text()
    broken = run_cli("lock", "-f", str(spec), "--upgrade", "--feed", f"{srv.url}/nowhere", env=env)
    assert broken.returncode == 1 and "HTTP 404" in broken.stderr and spec.read_text() == before
