"""Reading Packer logs: the failing step, its reason and the lines worth reading."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aks_jumpbox.core.buildlog import parse_log, tail

OUT = "[2026/12/01 10:00:00] PACKER OUT     azure-arm: "
ERR = "[2026/12/01 10:00:00] PACKER ERR     azure-arm: "


def marker(name: str, event: str) -> str:
    return f"{OUT}==> aks-jumpbox step {name} {event} 2026-12-01T10:00:00Z"


def test_the_failed_marker_names_the_step_and_why():
    log = "\n".join(
        [
            "[2026/12/01 10:00:00] Build ID: 1",
            marker("apt-upgrade", "begin"),
            f"{OUT}    upgraded 3 packages",
            marker("apt-upgrade", "end"),
            marker("download", "begin"),
            f"{OUT}    fetching helm",
            f"{ERR}sha256sum: WARNING: 1 computed checksum did NOT match",
            f"{ERR}==> aks-jumpbox step download FAILED: sha256 mismatch for helm.tar.gz",
            "[2026/12/01 10:00:00] PACKER ERR ==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",  # noqa: E501 - literal data
            "[2026/12/01 10:00:00] PACKER OUT ==> azure-arm: Deleting individual resources ...",
        ]
    )
    r = parse_log(log)
    assert [s.name for s in r.steps] == ["apt-upgrade", "download"]
    assert r.failed_step == "download" and r.reason == "sha256 mismatch for helm.tar.gz"
    assert r.relevant[0].endswith("step download begin 2026-12-01T10:00:00Z")
    assert any("Script exited" in x for x in r.relevant)
    assert not any("upgraded 3 packages" in x for x in r.relevant)
    assert not any("Deleting individual" in x for x in r.relevant)


def test_echoed_script_text_is_not_a_marker():
    log = "\n".join(
        [
            f"{OUT}+ printf '==> aks-jumpbox step %s begin %s\\n' \"$STEP\"",
            f"{OUT}+ printf '==> aks-jumpbox step %s FAILED: %s\\n' x",
            f"{OUT}+ echo '==> aks-jumpbox step fake FAILED: no'",
            marker("wait-for-boot", "begin"),
            marker("wait-for-boot", "end"),
        ]
    )
    r = parse_log(log)
    assert [s.name for s in r.steps] == ["wait-for-boot"] and r.failed_step is None


def test_a_step_that_never_ended_fails_only_when_packer_failed():
    running = "\n".join([marker("azure-cli", "begin"), f"{OUT}    Setting up azure-cli"])
    assert parse_log(running).failed_step is None  # still running
    died = (
        running + "\n" + f"{ERR}Build 'azure-arm' errored after 1 minute: Script exited with non-zero exit status: 137"
    )
    r = parse_log(died)
    assert r.failed_step == "azure-cli" and "137" in (r.reason or "")


def test_validation_failures_list_the_checks():
    log = "\n".join(
        [
            f"{OUT}==> aks-jumpbox step validate begin",
            f"{ERR}==> aks-jumpbox validate FAILED: kubectl: expected 1.37.1, got 1.36.0",
            f"{ERR}==> aks-jumpbox validate FAILED: sshd: X11Forwarding is yes",
            f"{ERR}==> aks-jumpbox step validate FAILED: 2 of 30 checks failed",
        ]
    )
    r = parse_log(log)
    assert r.failed_step == "validate" and r.reason == "2 of 30 checks failed"
    assert r.failed_checks == ["kubectl: expected 1.37.1, got 1.36.0", "sshd: X11Forwarding is yes"]


def test_long_steps_are_cut_to_their_end():
    lines = [marker("apt-upgrade", "begin")] + [f"{OUT}    line {i}" for i in range(200)]
    lines.append(f"{ERR}==> aks-jumpbox step apt-upgrade FAILED: exit code 100")
    r = parse_log("\n".join(lines), context=10)
    assert len(r.relevant) == 11 and "omitted" in r.relevant[1] and r.relevant[-2].endswith("line 199")


def test_no_markers_but_packer_errors():
    r = parse_log(
        "[2026/12/01 10:00:00] PACKER ERR ==> azure-arm: Script exited with non-zero exit status: 2. Allowed exit codes are: [0]"  # noqa: E501 - literal data
    )
    assert r.failed_step is None and r.reason.startswith("Script exited") and r.relevant


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40), max_size=30))
def test_any_text_parses_and_tails(lines):
    text = "\n".join(lines)
    r = parse_log(text)
    assert r.failed_step is None or r.failed_step in [s.name for s in r.steps]
    assert len(tail(text, 5)) <= 5


def test_tail_trims_packer_prefixes():
    text = "\n".join(["(telemetry) Starting provisioner shell", f"{OUT}    Setting up helm", "", f"{ERR}oops"])
    assert tail(text, 5) == ["Setting up helm", "oops"]
