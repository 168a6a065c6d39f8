"""Output for machines: errors as JSON documents in JSON mode, GitHub Actions annotations, and exit
codes (a failed sign-in is 3; every code is documented in --help and the README)."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from aks_jumpbox.cli import annotations
from aks_jumpbox.cli.main import EPILOG, cli, main
from aks_jumpbox.cli.present import EXIT_CODES, wants_json
from tests.conftest import ROOT


def test_an_input_error_in_json_mode_is_one_json_document_on_stdout(tmp_path, capsys):
    code = main(["plan", "-f", str(tmp_path / "none.yaml"), "--output", "json"])
    out, err = capsys.readouterr()
    assert code == 2 and "no such file" in err
    error = json.loads(out)["error"]
    assert error["exit_code"] == 2 and error["kind"] == "spec" and "none.yaml" in error["message"]
    assert error["problems"][0]["file"].endswith("none.yaml")


def test_a_usage_error_in_json_mode_is_a_json_document_even_before_the_option_is_read(capsys):
    code = main(["check", "--no-such-flag", "-o", "json"])
    out, err = capsys.readouterr()
    assert code == 2 and "No such option" in err
    error = json.loads(out)["error"]
    assert error["kind"] == "usage" and error["exit_code"] == 2 and "--no-such-flag" in error["message"]


def test_text_mode_keeps_stdout_empty_on_error(tmp_path, capsys):
    assert main(["plan", "-f", str(tmp_path / "none.yaml")]) == 2
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["plan", "-o", "json"], True),
        (["plan", "--output=json"], True),
        (["plan", "-ojson"], True),
        (["plan", "--output", "text"], False),
        (["plan", "--", "-o", "json"], False),
        (["plan", "-o"], False),
    ],
)
def test_json_mode_is_read_from_the_arguments(argv, expected):
    assert wants_json(argv) is expected


def test_annotations_escape_values_so_no_second_command_starts():
    hostile = "evil.yaml,line=1::x\r\n::add-mask::secret%0A"
    line = annotations.command("error", "bad\n::add-mask::secret 100%", file=hostile, line=7, title="a:b,c")
    assert "\n" not in line and "\r" not in line
    assert line == (
        "::error file=evil.yaml%2Cline=1%3A%3Ax%0D%0A%3A%3Aadd-mask%3A%3Asecret%250A,line=7,title=a%3Ab%2Cc"
        "::bad%0A::add-mask::secret 100%25"
    )
    # The properties end at the first `::`; what follows is the message, one line.
    head, message = line[2:].split("::", 1)
    assert head.startswith("error ") and message.startswith("bad%0A")
    with pytest.raises(ValueError):
        annotations.command("set-env", "x")


def test_ordinary_lines_cannot_start_a_workflow_command(monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert annotations.defuse("  ::add-mask::x") == ">   ::add-mask::x"
    assert annotations.defuse("FAIL id see ##[add-mask]x") == "FAIL id see ## [add-mask]x"
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert annotations.defuse("  ::add-mask::x") == "  ::add-mask::x"


def test_spec_errors_become_located_annotations_under_github_actions(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "jumpbox.yaml"
    assert main(["init", "--dir", str(tmp_path)]) == 0
    spec.write_text(spec.read_text().replace("name: ", "name: Not_A_Name #", 1))
    capsys.readouterr()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["plan", "-f", str(spec), "--out", str(tmp_path / "out")]) == 2
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.startswith("::error ")]
    assert re.match(r"::error file=[^,]*jumpbox\.yaml,line=\d+,title=name::", line), line
    monkeypatch.delenv("GITHUB_ACTIONS")
    assert main(["plan", "-f", str(spec), "--out", str(tmp_path / "out")]) == 2
    assert "::error" not in capsys.readouterr().out


def test_every_exit_code_is_in_the_help_epilog_and_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### Exit codes") :]
    codes = [code for code, _ in EXIT_CODES]
    assert codes == sorted(codes) and {0, 1, 2, 3, 4, 70, 130} == set(codes)
    for code, meaning in EXIT_CODES:
        assert f"{code:>3}  {meaning}" in EPILOG
        assert re.search(rf"^\| {code} \|", table, re.MULTILINE), f"README's exit code table lacks {code}"
    help_text = CliRunner().invoke(cli, ["--help"]).output
    assert "Exit codes:" in help_text and "sign-in failed" in help_text


def test_exit_code_without_what_if_is_a_usage_error():
    result = CliRunner().invoke(cli, ["deploy", "--exit-code"])
    assert result.exit_code == 2 and "--what-if" in result.output


def test_a_failed_sign_in_exits_3_and_a_missing_permission_1(capsys):
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    from aks_jumpbox.azure.errors import SignInFailure, arm
    from aks_jumpbox.cli.present import report_error

    def raised(exc: Exception) -> Exception:
        try:
            with arm("reading x", "/subscriptions/s"):
                raise exc
        except Exception as out:  # noqa: BLE001 - what arm() turned it into
            return out
        raise AssertionError("arm() swallowed the error")

    no_credential = raised(ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token"))
    refused = HttpResponseError("token expired")
    refused.status_code = 401
    forbidden = HttpResponseError("AuthorizationFailed: no permission")
    forbidden.status_code = 403
    assert isinstance(no_credential, SignInFailure) and report_error(no_credential) == 3
    assert isinstance(raised(refused), SignInFailure) and report_error(raised(refused)) == 3
    assert not isinstance(raised(forbidden), SignInFailure) and report_error(raised(forbidden)) == 1
    assert "az login" in capsys.readouterr().err


def test_a_failed_build_whose_logs_name_no_step_shows_their_last_lines():
    from rich.console import Console

    from aks_jumpbox.cli.outcome import show_logs

    logs = SimpleNamespace(
        blob_urls={},
        auth="azure-ad",
        texts={
            "customization.log": "[abc] PACKER OUT step one\n[abc] PACKER OUT all fine\n",
            "validation.log": "[abc] PACKER OUT something odd happened\n[abc] PACKER OUT the check died\n",
        },
    )
    report = SimpleNamespace(failed_step=None, reason=None, failed_checks=[], relevant=[])
    con = Console(record=True, width=200)
    show_logs(con, report, logs, failed=True)
    text = con.export_text()
    assert "no failing step recognised" in text and "the check died" in text
    assert text.index("validation.log") < text.index("customization.log")  # validation first
    quiet = Console(record=True, width=200)
    show_logs(quiet, report, logs)  # a run that did not fail: nothing to explain
    assert "the check died" not in quiet.export_text()


def test_a_command_that_wrote_its_document_gets_no_second_one_for_its_error(capsys, monkeypatch):
    # promote -o json writes {"promoted": false, "refused": [...]} and then fails: stdout stays one document.
    from aks_jumpbox.cli import present
    from aks_jumpbox.core.errors import OperationFailed

    monkeypatch.setattr(present, "json_output", lambda: True)
    present.new_invocation()
    present.emit_json({"promoted": False})
    present.report_error(OperationFailed("not promoting"))
    assert json.loads(capsys.readouterr().out) == {"promoted": False}
    present.new_invocation()
    present.report_error(OperationFailed("not promoting"))
    assert json.loads(capsys.readouterr().out)["error"]["message"] == "not promoting"


@pytest.mark.parametrize("ch", ["\u009b", "\u0085", "\u202e", "\u2067", "\u200f", "\u2028", "\u061c"])
def test_json_output_escapes_characters_a_terminal_acts_on(ch):
    # A value from Azure with a C1 control (0x9b is CSI), a bidi override or a line separator: shown as
    # \uXXXX in the document, the same value to a JSON reader.
    from aks_jumpbox.cli.present import json_text

    value = {"message": f"ok{ch}[31mevil"}
    text = json_text(value, indent=2)
    assert ch not in text and f"\\u{ord(ch):04x}" in text
    assert json.loads(text) == value
