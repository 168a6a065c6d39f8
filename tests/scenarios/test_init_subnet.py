"""`init --subnet-id [--aci-subnet-id]`: the prefixes and the region come from Azure (the emulator)."""

from __future__ import annotations

import subprocess
import sys

import yaml


def _init(azure_env, tmp_path, *args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "aks_jumpbox.cli.main", "init", "--dir", str(tmp_path / "p"), *args],
        env={**azure_env.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_init_reads_both_subnets_and_the_region(azure_env, tmp_path):
    net = azure_env.arm.seed_build_network("rg-net", location="westeurope", address_space="10.60.0.0/16")
    r = _init(azure_env, tmp_path, "--subnet-id", net["build_subnet"], "--aci-subnet-id", net["aci_subnet"])
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "p" / "jumpbox.yaml").read_text()
    build = yaml.safe_load(text)["build"]
    assert build["subnet_id"] == net["build_subnet"] and build["subnet_address_prefix"] == "10.60.1.0/24"
    assert build["container_instance_subnet_id"] == net["aci_subnet"]
    assert build["container_instance_subnet_address_prefix"] == "10.60.2.0/24"
    assert build["location"] == "westeurope"
    assert azure_env.arm.counts()["GET Microsoft.Network/virtualNetworks/subnets"] == 2
    assert "# must be the VNet's region" in text  # the comments stay
    plan = subprocess.run(
        [
            sys.executable,
            "-m",
            "aks_jumpbox.cli.main",
            "plan",
            "-f",
            str(tmp_path / "p" / "jumpbox.yaml"),
            "--no-write",
        ],
        capture_output=True,
        text=True,
    )
    assert plan.returncode == 0, plan.stderr


def test_without_the_aci_subnet_the_spec_is_for_the_proxy_topology(azure_env, tmp_path):
    net = azure_env.arm.seed_build_network("rg-net", isolated=False)
    r = _init(azure_env, tmp_path, "--subnet-id", net["build_subnet"])
    assert r.returncode == 0, r.stderr
    build = yaml.safe_load((tmp_path / "p" / "jumpbox.yaml").read_text())["build"]
    assert "container_instance_subnet_id" not in build and build["subnet_address_prefix"].endswith("/24")


def test_a_missing_subnet_and_no_sign_in_are_exit_2_naming_the_fix(azure_env, tmp_path):
    net = azure_env.arm.seed_build_network("rg-net")
    gone = net["vnet"] + "/subnets/nope"
    r = _init(azure_env, tmp_path, "--subnet-id", gone)
    assert r.returncode == 2 and f"--subnet-id {gone}: no such subnet" in r.stderr, r.stderr
    assert not (tmp_path / "p").exists()
    out = _init(azure_env, tmp_path, "--subnet-id", net["build_subnet"], env={"FAKE_AZ_LOGGED_OUT": "1"})
    assert out.returncode == 2, out.stderr
    assert "needs a sign-in" in out.stderr and "`az login`" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "p").exists()


def test_bad_ids_are_refused_before_azure_is_asked(azure_env, tmp_path):
    r = _init(azure_env, tmp_path, "--subnet-id", "/subscriptions/x/nope")
    assert r.returncode == 2 and "--subnet-id '/subscriptions/x/nope' is not a subnet resource ID" in r.stderr
    net = azure_env.arm.seed_build_network("rg-net")
    other = net["build_subnet"].replace("vnet-build", "vnet-other")
    r = _init(azure_env, tmp_path, "--subnet-id", net["build_subnet"], "--aci-subnet-id", other)
    assert r.returncode == 2 and "same virtual network" in r.stderr
    assert azure_env.arm.counts().get("GET Microsoft.Network/virtualNetworks/subnets", 0) == 0
