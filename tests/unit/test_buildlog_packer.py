"""Issue 10, finding 7: "PACKER ERR" is Packer's standard error, which carries its debug log; it is not an
error marker. The fixtures (tests/data/buildlogs, README there) are shaped like the excerpts of
https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-troubleshoot."""

from __future__ import annotations

from pathlib import Path

import pytest

from aks_jumpbox.core.buildlog import is_debug, is_packer_error, parse_log, tail
from aks_jumpbox.report.buildlog import parse_build_log

LOGS = Path(__file__).resolve().parents[1] / "data" / "buildlogs"


def log(name: str) -> str:
    return (LOGS / name).read_text(encoding="utf-8")


def test_a_successful_build_full_of_debug_lines_has_no_failure():
    report = parse_log(log("success-with-debug.log"))
    assert [s.name for s in report.steps] == ["apt-upgrade", "download"]
    assert report.failed_step is None and report.reason is None and report.relevant == []
    assert report.packer_errors == []


def test_a_running_build_is_not_failing_because_packer_logs_to_standard_error():
    report = parse_log(log("running.log"))
    assert [s.name for s in report.steps] == ["apt-upgrade"]
    assert report.failed_step is None and report.reason is None


def test_a_lost_connection_names_the_step_and_packers_own_error_not_a_debug_line():
    report = parse_log(log("disconnect-during-step.log"))
    assert report.failed_step == "download"
    assert report.reason == "unexpected EOF"
    assert not [x for x in report.relevant if is_debug(x)], report.relevant
    assert any("downloading helm" in x for x in report.relevant)
    assert any("--> azure-arm: unexpected EOF" in x for x in report.relevant)


def test_a_failed_script_is_read_from_its_marker_and_its_lines_without_debug_output():
    report = parse_log(log("script-failed.log"))
    assert report.failed_step == "download"
    assert report.reason == "sha256 mismatch for helm-v4.3.0-linux-amd64.tar.gz"
    assert any("sha256sum: WARNING" in x for x in report.relevant)  # the script's stderr is kept
    assert not any("RPC client" in x or "Azure request" in x for x in report.relevant), report.relevant
    assert any("Script exited with non-zero exit status: 1" in x for x in report.relevant)


@pytest.mark.parametrize(
    ("line", "debug", "error"),
    [
        (
            '[id] PACKER ERR 2020/04/30 23:28:50 packer: 2020/04/30 23:28:50 Azure request method="GET" request="x"',
            True,
            False,
        ),
        ("[id] PACKER ERR 2020/03/04 23:05:04 [INFO] (telemetry) Starting provisioner powershell", True, False),
        ("[id] PACKER ERR ==> azure-arm: Deleting individual resources ...", False, False),
        ("[id] PACKER ERR     azure-arm: sha256sum: WARNING: 1 computed checksum did NOT match", False, False),
        ("[id] PACKER OUT --> azure-arm: Timeout waiting for machine to restart.", False, True),
        ('[id] PACKER ERR 2023/06/13 08:46:26 machine readable: azure-arm,error []string{"x"}', False, True),
        ("[id] PACKER OUT Build 'azure-arm' errored: unexpected EOF", False, True),
        (
            "[id] PACKER ERR ==> azure-arm: Script exited with non-zero exit status: 2. Allowed exit codes are: [0]",
            False,
            True,
        ),
    ],
)
def test_debug_and_error_lines_are_told_apart_by_content_not_stream(line, debug, error):
    assert (is_debug(line), is_packer_error(line)) == (debug, error)


def test_the_live_tail_shows_what_the_build_printed_not_packers_debug_log():
    shown = tail(log("running.log"), 3)
    assert shown == [
        "==> aks-jumpbox step apt-upgrade begin 2026-01-05T10:02:01Z",
        "Reading package lists...",
        "Unpacking libssl3t64 (3.0.13-0ubuntu3.4) ...",
    ]


def test_the_software_report_ignores_markers_quoted_in_debug_lines():
    text = log("success-with-debug.log") + (
        "[id] PACKER ERR 2026/01/05 10:02:00 packer-plugin-azure plugin: [INFO] starting remote command: "
        "printf '==> aks-jumpbox package bogus 1.0 amd64'\n"
    )
    assert parse_build_log(text).package("bogus") is None
