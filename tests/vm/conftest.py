"""Fixtures of the VM tests: the cached Debian 12 base disk and a loopback mirror world for it.

Needs root, mmdebstrap, QEMU and OpenSSH's client. Elsewhere these tests skip with the reason, except
under CI=true, where a missing prerequisite is a failure (CI must run them).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.rootfs.harness.rootfs import RootfsUnavailable
from tests.rootfs.harness.world import World, create_world
from tests.support.prerequisites import prepared

from .basedisk import BaseDisk, build_base_disk, missing_prerequisites

# The name the guest uses for the mirror; this machine does not resolve it, so `try --resolve` maps it.
MIRROR_HOST = "mirror.aks-jumpbox.test"


@pytest.fixture(scope="session")
def base_disk() -> BaseDisk:
    return prepared("VM base disk", missing_prerequisites, build_base_disk, RootfsUnavailable)


@pytest.fixture(scope="session")
def vm_world(base_disk: BaseDisk, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = create_world(base_disk, tmp_path_factory.mktemp("vm-world"), mirror_host=MIRROR_HOST, os_key=base_disk.os_key)  # type: ignore[arg-type]
    try:
        yield w
    finally:
        w.mirror.stop()
