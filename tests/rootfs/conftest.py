"""Fixtures of the rootfs harness: the cached Debian image, the loopback mirror world, fresh VMs.

Needs root and mmdebstrap. Elsewhere these tests skip with the reason, except under CI=true,
where a missing prerequisite is a failure (CI must run them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.prerequisites import prepared

from .harness.rootfs import Chroot, RootfsImage, RootfsUnavailable, build_image, missing_prerequisites
from .harness.world import World, create_world


@pytest.fixture(scope="session")
def rootfs_image() -> RootfsImage:
    return prepared("rootfs image", missing_prerequisites, build_image, RootfsUnavailable)


@pytest.fixture(scope="session")
def world(rootfs_image: RootfsImage, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = create_world(rootfs_image, tmp_path_factory.mktemp("world"))
    try:
        yield w
    finally:
        w.mirror.stop()


@pytest.fixture
def mirror(world: World) -> Iterator:
    """The session's mirror with a clean fault set and request log for this test."""
    world.mirror.clear_faults()
    world.mirror.reset_log()
    yield world.mirror
    world.mirror.clear_faults()


@pytest.fixture
def vm(world: World, tmp_path: Path) -> Iterator[Chroot]:
    """A fresh build VM (the base image, mounted like a booted VM); torn down even on failure."""
    with world.vm(tmp_path / "vm") as root:
        yield root
