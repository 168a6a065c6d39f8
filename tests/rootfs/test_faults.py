"""provision.sh against a misbehaving world: tampered artifacts, a flaky or dead mirror, a held
dpkg lock, a signing key that is not the pinned one. Each test gets a fresh build VM."""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import re
import threading
from pathlib import Path

import pytest

from aks_jumpbox.core.catalog import load_catalog

from .harness.mirror import Mirror
from .harness.rootfs import Chroot, RunResult
from .harness.world import World

pytestmark = pytest.mark.rootfs

CATALOG = load_catalog()


def provision(world: World, vm: Chroot, tmp_path: Path, spec: dict | None = None, timeout: float = 300) -> RunResult:
    rendered = world.render(tmp_path / "plan", spec=spec)
    world.install_scripts(vm, rendered)
    return vm.script("provision.sh", timeout=timeout)


def failed_step(result: RunResult) -> tuple[str, str]:
    """(step, message) of the first FAILED marker."""
    for line in result.output.splitlines():
        m = re.match(r"^==> aks-jumpbox step (\S+) FAILED: (.*)$", line)
        if m:
            return m.group(1), m.group(2)
    raise AssertionError(f"no FAILED step marker in:\n{result.output[-4000:]}")


def began(result: RunResult) -> list[str]:
    return re.findall(r"^==> aks-jumpbox step (\S+) begin", result.output, re.MULTILINE)


def marker_time(result: RunResult, step: str, what: str) -> dt.datetime:
    m = re.search(rf"^==> aks-jumpbox step {re.escape(step)} {what} (\S+)$", result.output, re.MULTILINE)
    assert m, f"no {what} marker for {step}"
    return dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def test_tampered_artifact_fails_at_its_step_naming_both_digests_and_installs_nothing(
    world: World, vm: Chroot, mirror: Mirror, tmp_path: Path
) -> None:
    url, folder = world.artifacts_variant("tampered-helm")
    target = world.variant_artifact_file(folder, "helm")
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01  # one byte changed
    target.unlink()  # a hard link to the good copy: replace, do not edit
    target.write_bytes(bytes(data))
    expected, actual = world.stand_ins["helm"].sha256, hashlib.sha256(data).hexdigest()

    result = provision(world, vm, tmp_path, spec=world.spec(mirror={"artifacts": url}))

    assert result.returncode == 1, result.output[-4000:]
    step, message = failed_step(result)
    assert step == "tool:helm"
    assert "helm" in message and expected in message and actual in message
    assert began(result)[-1] == "tool:helm", "nothing runs after the failed step"
    install = CATALOG.tools["helm"].install
    leftovers = [p.name for p in vm.path(install).parent.iterdir() if p.name.startswith("helm")]
    assert leftovers == [], f"nothing of helm may be installed: {leftovers}"
    assert not vm.path("/var/tmp/aks-jumpbox/stage").exists()
    assert not vm.path("/etc/aks-jumpbox/manifest.json").exists()


def test_mirror_answering_500_twice_then_ok_is_retried(
    world: World, vm: Chroot, mirror: Mirror, tmp_path: Path
) -> None:
    path = world.artifact_path("kubelogin")
    mirror.fail(path, times=2, status=500)
    result = provision(world, vm, tmp_path)
    assert result.returncode == 0, result.output[-4000:]
    assert [status for _, status in mirror.requests(path)] == [500, 500, 200]
    assert vm.path(CATALOG.tools["kubelogin"].install).read_bytes() == world.stand_ins["kubelogin"].binary


def test_mirror_that_never_answers_fails_within_the_bounded_time(
    world: World, vm: Chroot, mirror: Mirror, tmp_path: Path
) -> None:
    attempts, seconds = 2, 5
    path = world.artifact_path("flux")
    mirror.hang(path)
    spec = world.spec(download_attempts=attempts, download_timeout_seconds=seconds)
    harness_limit = 240
    result = provision(world, vm, tmp_path, spec=spec, timeout=harness_limit)
    assert result.returncode == 1, result.output[-4000:]  # ended by itself: -9 would be the harness's kill
    step, message = failed_step(result)
    assert step == "tool:flux"
    assert "flux" in message and f"{attempts} attempt(s)" in message and f"{seconds}s" in message, message
    assert len(mirror.requests(path)) == attempts, "each attempt reached the mirror, and no more"
    assert not vm.path(CATALOG.tools["flux"].install).exists()


def test_held_dpkg_lock_is_waited_for(world: World, vm: Chroot, mirror: Mirror, tmp_path: Path) -> None:
    # Another process (as unattended-upgrades at first boot) holds apt's frontend lock with the
    # same fcntl lock apt uses, and lets go after a while.
    hold = 8.0
    fd = os.open(vm.path("/var/lib/dpkg/lock-frontend"), os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    released: list[dt.datetime] = []

    def release() -> None:
        released.append(dt.datetime.now(dt.UTC))
        fcntl.lockf(fd, fcntl.LOCK_UN)
        os.close(fd)

    timer = threading.Timer(hold, release)
    timer.start()
    try:
        result = provision(world, vm, tmp_path)
    finally:
        timer.cancel()
        if not released:
            release()
    assert result.returncode == 0, result.output[-4000:]
    assert "Could not get lock /var/lib/dpkg/lock-frontend" in result.output, "apt saw the lock held"
    # the package step could only finish after the lock was released
    assert marker_time(result, "apt-upgrade", "end") >= released[0].replace(microsecond=0)


def test_signing_key_with_another_fingerprint_is_refused(
    world: World, vm: Chroot, mirror: Mirror, tmp_path: Path
) -> None:
    pinned = "0123456789ABCDEF0123456789ABCDEF01234567"
    result = provision(world, vm, tmp_path, spec=world.spec(mirror={"azure_cli_key_fingerprints": [pinned]}))
    assert result.returncode == 1, result.output[-4000:]
    step, message = failed_step(result)
    assert step == "azure-cli"
    assert pinned in message and world.repos.cli_key.fingerprint in message
    assert not list(vm.path("/etc/apt/keyrings").glob("*azure*")), "the key was not trusted"
    assert not vm.path("/usr/bin/az").exists()
