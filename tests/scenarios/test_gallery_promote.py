"""Scenario: canary builds to a gallery in two regions, `versions`, `promote`, and a second build with
one tool bumped whose software-report diff names exactly that tool."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from aks_jumpbox.core.lock import default_lock_text
from tests.scenarios.conftest import IMAGE_RG, assert_ok

pytestmark = pytest.mark.emulator

REGIONS = [
    {"name": "westeurope", "replicas": 1},
    {"name": "northeurope", "replicas": 2, "storage_account_type": "Standard_ZRS"},
]
OLD, NEW = "1.37.1", "1.37.2"


def gallery_spec(version: str) -> dict:
    return {
        "gallery": {
            "resource_group": IMAGE_RG,
            "name": "gal_jumpbox",
            "image": {"publisher": "contoso"},
            "version": version,
            "target_regions": [dict(r) for r in REGIONS],
        }
    }


def write_lock_with_bumped_kubectl(w) -> None:
    """The default lock plus kubectl 1.37.2 (as `lock --upgrade kubectl` would add it)."""
    lock = json.loads(default_lock_text())
    entry = json.loads(json.dumps(lock["tools"]["kubectl"][0]).replace(OLD, NEW))
    for artifact in entry["artifacts"].values():
        artifact["sha256"] = "ab" * 32
    lock["tools"]["kubectl"].append(entry)
    (w.dir / "jumpbox.lock.json").write_text(json.dumps(lock, indent=2), encoding="utf-8")


def versions(w) -> dict:
    result = w.cli("versions", "-o", "json")
    assert_ok(result)
    return json.loads(result.stdout)


def by_name(doc: dict) -> dict[str, dict]:
    return {v["name"]: v for v in doc["versions"]}


@pytest.fixture
def canary_world(world):
    world.data["distribute"] = gallery_spec("1.0.0")
    world.write_spec()
    return world


def test_canary_promote_and_a_bumped_tool_shows_in_the_diff(canary_world):
    w = canary_world
    assert_ok(w.cli("build", "--output", "json"))
    doc = versions(w)
    v1 = by_name(doc)["1.0.0"]
    assert v1["channel"] == "canary" and v1["excludeFromLatest"] is True and doc["latest"] is None
    assert v1["provisioningState"] == "Succeeded" and v1["replication"] == "Completed"
    assert [(r["name"], r["replicas"], r["storageAccountType"]) for r in v1["regions"]] == [
        ("westeurope", 1, "Standard_LRS"),
        ("northeurope", 2, "Standard_ZRS"),
    ]
    assert re.fullmatch(r"[0-9a-f]{64}", v1["planHash"]) and v1["currentPlan"] is True
    assert v1["publishedDate"]
    template = json.loads(w.cli("status", "-o", "json").stdout)["template"]
    assert template.endswith(v1["planHash"][:10])  # the content hash is the template's

    text = w.cli("versions")
    assert_ok(text)
    assert "1.0.0 *" in text.stdout and "canary" in text.stdout and "northeurope (2)" in text.stdout

    promoted = w.cli("promote", "1.0.0", "--yes", "-o", "json")
    assert_ok(promoted)
    assert json.loads(promoted.stdout)["promoted"] is True
    doc = versions(w)
    assert doc["latest"] == "1.0.0" and by_name(doc)["1.0.0"]["channel"] == "latest"
    live = w.arm.get(v1["id"])["properties"]["publishingProfile"]
    assert live["excludeFromLatest"] is False
    assert [r["regionalReplicaCount"] for r in live["targetRegions"]] == [1, 2]  # replication unchanged
    again = w.cli("promote", "1.0.0", "--yes", "-o", "json")
    assert_ok(again)
    assert json.loads(again.stdout)["promoted"] is False

    assert_ok(w.cli("report", "--out", str(w.dir / "report-a")))

    # Second build: one tool bumped, a new semantic version.
    write_lock_with_bumped_kubectl(w)
    w.data["tools"]["kubectl"] = NEW
    w.data["distribute"] = gallery_spec("1.1.0")
    w.write_spec()
    assert_ok(w.cli("build", "--output", "json"))
    doc = versions(w)
    rows = by_name(doc)
    assert sorted(rows) == ["1.0.0", "1.1.0"]
    assert rows["1.1.0"]["channel"] == "canary" and doc["latest"] == "1.0.0"
    assert rows["1.1.0"]["planHash"] != rows["1.0.0"]["planHash"]
    assert rows["1.1.0"]["currentPlan"] and not rows["1.0.0"]["currentPlan"]

    assert_ok(w.cli("report", "--out", str(w.dir / "report-b")))
    diff = subprocess.run(
        w.cmd("diff", str(w.dir / "report-a"), str(w.dir / "report-b"), "-o", "json", "--exit-code"),
        check=False,
        cwd=w.dir,
        env=w.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert diff.returncode == 1, diff.stderr
    changes = json.loads(diff.stdout)
    everything = [
        (section, kind, item)
        for section, body in changes.items()
        if isinstance(body, dict)
        for kind in ("added", "removed", "changed")
        for item in body.get(kind, [])
    ]
    assert everything == [("tools", "changed", {"name": "kubectl", "from": OLD, "to": NEW})]

    assert_ok(w.cli("promote", "1.1.0", "--yes"))
    doc = versions(w)
    assert doc["latest"] == "1.1.0" and by_name(doc)["1.0.0"]["channel"] == "superseded"


def test_promote_refuses_what_is_not_a_validated_latest_to_be(canary_world):
    w = canary_world
    missing = w.cli("promote", "1.0.0", "--yes")
    assert missing.returncode == 1 and "no version 1.0.0" in missing.stderr
    assert w.cli("promote", "latest", "--yes").returncode == 2

    assert_ok(w.cli("build"))
    version_id = by_name(versions(w))["1.0.0"]["id"]
    w.arm.store.get(version_id).meta["replication"] = {"northeurope": "Replicating"}
    refused = w.cli("promote", "1.0.0", "--yes", "-o", "json")
    assert refused.returncode == 1
    assert "northeurope (Replicating)" in " ".join(json.loads(refused.stdout)["refused"])
    assert w.arm.get(version_id)["properties"]["publishingProfile"]["excludeFromLatest"] is True
    w.arm.store.get(version_id).meta["replication"] = {}

    # A forced rebuild of the same template fails: its last run no longer vouches for the version.
    w.arm.faults.fail_customizer(at=r"step download begin")
    assert w.cli("build", "--force").returncode == 1
    failed = w.cli("promote", "1.0.0", "--yes")
    assert failed.returncode == 1 and "is Failed, not Succeeded" in failed.stderr
    w.arm.faults.customizer_failure = None

    # A higher version that is still eligible would stay latest: refused, with the way out named.
    w.data["distribute"] = gallery_spec("2.0.0")
    w.data["distribute"]["gallery"]["exclude_from_latest"] = False
    w.write_spec()
    assert_ok(w.cli("build"))
    w.data["distribute"] = gallery_spec("1.0.0")
    w.write_spec()
    blocked = w.cli("promote", "1.0.0", "--yes")
    assert blocked.returncode == 1
    assert "2.0.0 is higher" in blocked.stderr and "semantic" in blocked.stderr

    # Without the template that built it (cleanup ran), there is no evidence of validation.
    assert_ok(w.cli("cleanup", "--yes"))
    gone = w.cli("promote", "1.0.0", "--yes")
    assert gone.returncode == 1 and "no longer exists" in gone.stderr
