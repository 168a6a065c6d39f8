"""No network: `lock` and `outdated` say so once, with what to do, instead of retrying every source.

The product runs in a child interpreter whose name resolution fails for every host but 127.0.0.1 (as on an
air-gapped machine with no DNS server); no packet leaves the machine, and the resolver calls are counted.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from aks_jumpbox.core.spec import default_spec_text

_CHILD = """
import json, socket, sys
calls = []
real = socket.getaddrinfo
def offline(host, *args, **kwargs):
    if host in ("127.0.0.1", "localhost"):
        return real(host, *args, **kwargs)
    calls.append(host)
    raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
socket.getaddrinfo = offline
from aks_jumpbox.cli.main import main
rc = main(sys.argv[1:])
sys.stderr.write("\\nRESOLVER " + json.dumps(calls) + "\\n")
sys.exit(rc)
"""


def run_offline(*args: str, cwd) -> tuple[subprocess.CompletedProcess, list[str]]:
    done = subprocess.run([sys.executable, "-c", _CHILD, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    head, _, tail = done.stderr.rpartition("\nRESOLVER ")
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout, head), json.loads(tail)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "jumpbox.yaml").write_text(default_spec_text())
    return tmp_path


def test_lock_offline_asks_the_resolver_once_and_names_the_mirror_and_the_commands(project):
    before = sorted(p.name for p in project.iterdir())
    r, calls = run_offline("lock", cwd=project)
    assert r.returncode == 3, r.stderr  # the environment (no network), as EXIT_CODES says
    assert len(calls) == 1, calls  # not 4 attempts per file with back-off
    message = r.stderr.strip()
    assert message.count("\n") == 0, message
    assert message.startswith("error: no network: cannot reach "), message
    assert "nothing was written" in message
    assert "mirror.artifacts" in message and "`aks-jumpbox mirror sync --to DIR`" in message
    assert "`aks-jumpbox lock --feed https://FEED`" in message
    assert sorted(p.name for p in project.iterdir()) == before  # no lock written


def test_lock_upgrade_offline_stops_before_editing_the_spec(project):
    text = (project / "jumpbox.yaml").read_text()
    r, calls = run_offline("lock", "--upgrade", cwd=project)
    assert r.returncode == 3, r.stderr  # the environment (no network), as EXIT_CODES says
    assert "error: no network: " in r.stderr and "--feed https://FEED" in r.stderr
    assert len(calls) <= 4  # at most one per worker; the rest fail at once
    assert (project / "jumpbox.yaml").read_text() == text


def test_outdated_offline_says_unknown_not_current(project):
    r, calls = run_offline("outdated", cwd=project)
    assert r.returncode == 3  # nothing could be read: no network
    out = " ".join(r.stdout.split())  # the table may wrap
    assert "no pin is behind" not in out
    assert "unknown: 8 of 8 sources unreachable" in out, out
    assert "no network: " in out and "`aks-jumpbox outdated --feed https://FEED`" in out
    assert out.count("no network") == 1  # said once, not once per source
    assert len(calls) <= 4, calls  # four workers; each later source fails at once


def test_outdated_offline_counts_in_json(project):
    r, _ = run_offline("outdated", "-o", "json", cwd=project)
    doc = json.loads(r.stdout)
    assert doc["sources"] == {"total": 8, "unreachable": 8, "unreadable": 0}
    assert {p["status"] for p in doc["pins"] if p["kind"] in ("tool", "azure-cli")} == {"unknown"}


def test_an_unreachable_feed_is_named_as_the_setting_to_fix(project):
    r, calls = run_offline("outdated", "--feed", "https://feed.contoso.internal/r", cwd=project)
    out = " ".join(r.stdout.split())
    assert "feed.contoso.internal is the host --feed" in out, out
