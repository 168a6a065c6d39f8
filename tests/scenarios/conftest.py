"""A user's world in the ARM emulator, and the product run as a subprocess against it.

The product reaches the emulator only as it reaches any custom cloud: AZURE_ARM_ENDPOINT and
friends, a CA bundle, and an `az login` session (the fake az). The tunables set here
(AKS_JUMPBOX_WATCH_SECONDS, AKS_JUMPBOX_RETRY_BACKOFF) are the product's ordinary settings.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from aks_jumpbox.core.spec import default_spec_text

LOCATION = "westeurope"
BUILD_RG = "rg-imagebuilders"
IMAGE_RG = "rg-images"
NET_RG = "rg-network"


def step_output(template: dict, step: dict, index: int) -> list[str]:
    """What provision.sh / validate.sh print, step by step: the markers of the steps the rendered
    script really has (read from the customizer's inline script), with a line of work in each."""
    script = "\n".join(step.get("inline") or [])
    # A step function's first statement is its marker; a function that opens with a guard
    # (`[ -n "$X" ] || return 0`: a mirror CA, an apt mirror) prints nothing for the default spec.
    names = re.findall(r"^[a-z_]+\(\) \{\n  step ([A-Za-z0-9_.-]+)\s*$", script, re.MULTILINE)
    out = []
    if "validate.sh" in script and not names:
        out += [
            "==> aks-jumpbox step validate begin",
            "    ok: kubectl 1.37.1",
            "    ok: helm 4.3.0",
            "==> aks-jumpbox step validate end: 2 checks passed",
        ]
        return out
    for n in names:
        out += [
            f"==> aks-jumpbox step {n} begin 2026-12-01T10:00:00Z",
            f"    working on {n}",
            f"==> aks-jumpbox step {n} end 2026-12-01T10:00:05Z",
        ]
    return out


@dataclass
class World:
    env: dict[str, str]
    arm: object
    azurite: object
    dir: Path
    spec_path: Path
    data: dict
    runs: list[subprocess.CompletedProcess] = field(default_factory=list)

    def write_spec(self, data: dict | None = None) -> Path:
        if data is not None:
            self.data = data
        self.spec_path.write_text(yaml.safe_dump(self.data, sort_keys=False), encoding="utf-8")
        return self.spec_path

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "aks_jumpbox.cli.main", *args]

    def cli(self, *args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(
            self.cmd(*args, "-f", str(self.spec_path)) if "-f" not in args else self.cmd(*args),
            cwd=self.dir,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.runs.append(result)
        return result

    def popen(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen(
            self.cmd(*args, "-f", str(self.spec_path)),
            cwd=self.dir,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def spec_data(sub: str, net: dict[str, str]) -> dict:
    data = yaml.safe_load(default_spec_text())
    data["build"].update(
        {
            "resource_group": BUILD_RG,
            "location": LOCATION,
            "subnet_id": net["build_subnet"],
            "subnet_address_prefix": "10.40.1.0/24",
            "container_instance_subnet_id": net["aci_subnet"],
            "container_instance_subnet_address_prefix": "10.40.2.0/24",
        }
    )
    data["distribute"]["managed_image"]["resource_group"] = IMAGE_RG
    data["subscription_id"] = sub
    return data


@pytest.fixture
def world(azure_env, tmp_path: Path) -> World:
    arm = azure_env.arm
    net = arm.seed_build_network(NET_RG, location=LOCATION)
    arm.seed_resource_group(BUILD_RG, LOCATION)
    arm.seed_resource_group(IMAGE_RG, LOCATION)
    arm.imagebuilder.customizer_output = step_output
    arm.imagebuilder.validator_output = step_output
    env = {
        **azure_env.env,
        "AKS_JUMPBOX_WATCH_SECONDS": "0.02",
        "AKS_JUMPBOX_RETRY_BACKOFF": "0.05",
        "AKS_JUMPBOX_POLL_SECONDS": "0.05",
        "COLUMNS": "160",
    }
    env.pop("CI", None)
    w = World(env, arm, azure_env.azurite, tmp_path, tmp_path / "jumpbox.yaml", spec_data(arm.subscription_id, net))
    w.write_spec()
    return w


def assert_ok(result: subprocess.CompletedProcess, code: int = 0) -> None:
    assert result.returncode == code, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
