"""The live source: the product (a subprocess, as users run it) reads the ARM emulator through the real
SDK; `snapshot` then `check --snapshot` gives the same result as the live `check`; `build` runs the
checks first and refuses to start on a failure unless told to skip them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.emulator.plugin import product_env
from tests.emulator.rbac import OWNER
from tests.preflight.world import CALLER_CONTRIBUTOR, SUB, World, seed_emulator, spec_data

pytestmark = pytest.mark.emulator


@pytest.fixture
def env(arm_emulator, emulator_ca, tmp_path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {**product_env(arm_emulator, emulator_ca, home), "AKS_JUMPBOX_RETRY_BACKOFF": "0.05", "COLUMNS": "200"}


def cli(env: dict, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "aks_jumpbox.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def spec_file(tmp_path: Path, w: World) -> str:
    path = tmp_path / "jumpbox.yaml"
    data = json.loads(json.dumps(spec_data(w.plan.spec.topology)).replace(SUB, w.plan.subscription))
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def checks(result: subprocess.CompletedProcess) -> list[dict]:
    return json.loads(result.stdout)["checks"]


@pytest.mark.parametrize("topology", ["isolated", "proxy"])
def test_live_check_passes_and_a_snapshot_reads_back_identically(arm_emulator, env, tmp_path, topology):
    w = seed_emulator(arm_emulator, topology)
    spec = spec_file(tmp_path, w)
    live = cli(env, tmp_path, "check", "-f", spec, "-o", "json")
    assert live.returncode == 0, live.stdout + live.stderr
    found = checks(live)
    assert {c["status"] for c in found} == {"pass"}, [c for c in found if c["status"] != "pass"]
    assert {f"egress.build.{e.fqdn}:{e.port}" for e in w.plan.network.egress if "build" in e.subnets} <= {
        c["id"] for c in found
    }
    assert arm_emulator.count("PUT") == 0 and arm_emulator.count("POST") == 0  # a check writes nothing

    snap = tmp_path / "snap"
    made = cli(env, tmp_path, "snapshot", "-f", spec, "--out", str(snap))
    assert made.returncode == 0, made.stderr
    assert f"check them offline with `aks-jumpbox check --snapshot {snap}`" in made.stdout
    offline = cli(env, tmp_path, "check", "-f", spec, "--snapshot", str(snap), "-o", "json")
    assert offline.returncode == 0, offline.stderr
    assert checks(offline) == found


def test_broken_prerequisites_fail_live_and_through_a_snapshot_alike(arm_emulator, env, tmp_path):
    w = seed_emulator(arm_emulator, "isolated")
    arm = arm_emulator
    arm.providers.set_state("Microsoft.ContainerInstance", "NotRegistered")
    image = w.plan.resource("assignment.image")
    arm.store.delete(image.id)
    # A Contributor: cannot create role assignments.
    arm.config.caller_permissions = CALLER_CONTRIBUTOR
    arm.marketplace.withdraw("Canonical", "ubuntu-24_04-lts", "server", "eastus2")
    spec = spec_file(tmp_path, w)
    live = cli(env, tmp_path, "check", "-f", spec, "-o", "json")
    assert live.returncode == 1, live.stderr
    failed = {c["id"]: c for c in checks(live) if c["status"] == "fail"}
    assert set(failed) == {
        "provider.Microsoft.ContainerInstance",
        "identity.role.image",
        "caller.assign.image",
        "source-image",
    }
    assert (
        failed["source-image"]["evidence"]
        == "marketplace versions of Canonical:ubuntu-24_04-lts:server in eastus2: none"
    )
    snap = tmp_path / "snap"
    assert cli(env, tmp_path, "snapshot", "-f", spec, "--out", str(snap)).returncode == 0
    offline = cli(env, tmp_path, "check", "-f", spec, "--snapshot", str(snap), "-o", "json")
    assert offline.returncode == 1
    assert checks(offline) == checks(live)


def test_what_azure_refuses_to_show_is_skipped_with_its_error(arm_emulator, env, tmp_path):
    w = seed_emulator(arm_emulator, "proxy")
    arm = arm_emulator
    arm.config.caller_permissions = None
    # The caller may only read the network resource group and the subscription's providers.
    arm.remove_assignments(arm.config.caller_principal_id)
    sub = f"/subscriptions/{arm.subscription_id}"
    arm.assign_role(
        arm.config.caller_principal_id, f"{sub}/resourceGroups/rg-enterprise-networking-spokes-eastus2", OWNER, "User"
    )
    spec = spec_file(tmp_path, w)
    live = cli(env, tmp_path, "check", "-f", spec, "-o", "json")
    found = {c["id"]: c for c in checks(live)}
    assert found["nsg.build-in-ssh-from-proxy"]["status"] == "pass"
    assert found["resource-group.image"]["status"] == "skip"
    assert "AuthorizationFailed: The client" in found["resource-group.image"]["message"]


def test_build_runs_the_checks_first_and_refuses_on_a_failure(arm_emulator, env, tmp_path):
    w = seed_emulator(arm_emulator, "isolated")
    vnet = arm_emulator.get(w.docs["vnet.json"]["id"])
    aci = next(s for s in vnet["properties"]["subnets"] if s["name"] == "snet-imagebuilder-aci")
    body = {k: v for k, v in aci.items() if k == "properties"}
    body["properties"]["delegations"] = []
    arm_emulator.seed(aci["id"], body)
    spec = spec_file(tmp_path, w)
    result = cli(env, tmp_path, "build", "-f", spec, "--no-wait")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL subnet.container.delegation" in result.stdout
    assert "--skip-check" in result.stderr
    assert arm_emulator.count("PUT", "Microsoft.VirtualMachineImages/imageTemplates") == 0
    # Skipping the check lets the build go on, and Azure (here: the emulator's Image Builder) then
    # rejects the template for the very reason the check gave.
    skipped = cli(env, tmp_path, "build", "-f", spec, "--no-wait", "--skip-check")
    assert skipped.returncode == 1
    assert arm_emulator.count("PUT", "Microsoft.VirtualMachineImages/imageTemplates") == 1
    assert "delegated" in (skipped.stdout + skipped.stderr)
