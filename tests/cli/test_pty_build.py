"""What a person sees: `build` in a real pseudo-terminal (a tmux pane), against the emulator, at three moments:
before the build VM's output exists, mid-customization, and after the failure.

The emulator holds the run (`hold`) and the test moves it to each moment itself (`advance`, `finish`), so
what is on the screen depends on where the build is, never on timing: each moment is waited for (the screen
shows it within a generous bound) and then asserted.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.scenarios.conftest import world  # noqa: F401  (the emulator world fixture)
from tests.scenarios.test_failures import WHY, fail_download
from tests.support.prerequisites import unavailable

pytestmark = pytest.mark.emulator

TEMPLATES = "Microsoft.VirtualMachineImages/imageTemplates"
PATIENCE = 120.0  # seconds a moment may take to reach the screen on a loaded machine


class Pane:
    """One tmux server (its own socket) with one wide pane running a command."""

    def __init__(self, socket: Path, env: dict[str, str]) -> None:
        self.socket, self.env = socket, env

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-u", "-S", str(self.socket), *args], env=self.env, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self, argv: list[str], cwd: Path) -> None:
        # The pane stays after the command ends, with its exit code on the last line.
        script = f'cd {shlex.quote(str(cwd))} && {shlex.join(argv)}; echo "exit code $?"; exec sleep 3600'
        self.tmux("new-session", "-d", "-s", "build", "-x", "220", "-y", "60", "sh", "-c", script)

    def screen(self) -> str:
        """The visible screen, wrapped lines joined."""
        return self.tmux("capture-pane", "-p", "-J", "-t", "build")

    def wait_for(self, pattern: str) -> str:
        deadline = time.monotonic() + PATIENCE
        while True:
            shown = self.screen()
            if re.search(pattern, shown):
                return shown
            if time.monotonic() > deadline:
                pytest.fail(f"the screen never showed {pattern!r}; it shows:\n{shown}")
            time.sleep(0.2)

    def close(self) -> None:
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], env=self.env, capture_output=True, timeout=30)


@pytest.fixture
def pane(world, tmp_path):  # noqa: F811
    if shutil.which("tmux") is None:
        unavailable("tmux is not installed (Debian package tmux)")
    env = {k: v for k, v in world.env.items() if k not in ("COLUMNS", "LINES", "TMUX")}
    env.update({"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm-256color"})
    p = Pane(tmp_path / "tmux.sock", env)
    yield p
    p.close()


def test_build_in_a_terminal_at_three_moments(world, pane):  # noqa: F811
    ib = world.arm.imagebuilder
    ib.hold = True  # the run waits in Queued until this test moves it
    fail_download(world)
    pane.start([sys.executable, "-m", "aks_jumpbox.cli.main", "build", "-f", str(world.spec_path)], world.dir)

    # 1. The run exists but the build VM has printed nothing: the view says so, and counts from the run's start.
    first = pane.wait_for(r"waiting for the build VM's output")
    assert re.search(r"preflight \([^)]*\): .*passed", first)
    assert re.search(r"state\s+Running", first) and re.search(r"phase\s+Queued", first)
    assert "· wait-for-boot" in first and "▶" not in first and "✓" not in first
    assert "Ctrl-C detaches" in first and "FAILED" not in first and "│" not in first  # no output panel yet
    (template,) = world.arm.store.of_type(TEMPLATES)
    ib.backdate(template.id, 20 * 60)  # as if attached 20 minutes into the run
    pane.wait_for(r"elapsed\s+2\d:\d\d")

    # 2. Mid-customization: the script's steps so far, the one running marked, its output in the panel.
    ib.advance(template.id, "Customizing", until=r"step download begin")
    middle = pane.wait_for(r"step\s+download 3/\d+")
    assert re.search(r"phase\s+Customizing", middle)
    assert "✓ wait-for-boot" in middle and "✓ apt-upgrade" in middle and "▶ download" in middle
    assert "· azure-cli" in middle and "· cleanup" in middle
    assert "live output of vmimagebuilder-build-container-" in middle
    assert "==> aks-jumpbox step download begin" in middle
    assert WHY not in middle and "FAILED" not in middle

    # 3. After the failure: the failing step marked and named, with why; never "step -".
    ib.finish(template.id)
    last = pane.wait_for(r"exit code \d+")
    assert "exit code 1" in last
    assert re.search(r"step\s+download 3/\d+ FAILED", last) and "✗ download" in last
    assert "failing step: download" in last and WHY in last
    assert "build Failed in phase Customizing" in last
    assert not re.search(r"step\s+-", last) and "Ctrl-C detaches" not in last.split("build Failed")[-1]
