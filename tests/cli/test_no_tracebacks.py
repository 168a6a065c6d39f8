"""No tracebacks, ever: bad input and a bad environment are one line naming the thing and the fix (exit 2),
a failed operation exit 1, anything unexpected an "internal error" line (exit 70) whose trace only
AKS_JUMPBOX_DEBUG=1 shows. Most cases run the CLI in-process (main(), as the entry point does)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest
import yaml

from aks_jumpbox.cli import present
from aks_jumpbox.cli.main import main
from aks_jumpbox.core.errors import OperationFailed, UserError
from tests.conftest import run_cli, variant


def cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def one_line(result: tuple[int, str, str], code: int, *needles: str) -> str:
    """The single error line of a clean failure with exit code `code`, holding every needle."""
    rc, out, err = result
    assert rc == code, (rc, out, err)
    assert "Traceback" not in out + err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, err)
    return lines[0]


@pytest.fixture
def offline_azure(monkeypatch, tmp_path):
    """Commands that would talk to Azure point at a closed loopback port, so a missed check cannot go online;
    they run in a folder holding the default spec as the user's jumpbox.yaml (they refuse the embedded one)."""
    from aks_jumpbox.core.spec import default_spec_text

    (tmp_path / "jumpbox.yaml").write_text(default_spec_text(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for var in (
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_FEDERATED_TOKEN_FILE",
        "AZURE_SUBSCRIPTION_ID",
        "AZURE_TOKEN_CREDENTIALS",
        "AKS_JUMPBOX_DEBUG",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AZURE_ARM_ENDPOINT", "https://127.0.0.1:9")
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", "https://127.0.0.1:9")
    monkeypatch.setenv("AKS_JUMPBOX_RETRY_TOTAL", "0")


# ---- unexpected exceptions


def _raise_in_plan(monkeypatch, exc: BaseException) -> None:
    from aks_jumpbox.cli.commands import plan

    def boom(**kwargs):
        raise exc

    monkeypatch.setattr(plan.command, "callback", boom)


def test_an_unexpected_exception_is_an_internal_error_line_without_a_trace(monkeypatch, capsys):
    monkeypatch.delenv("AKS_JUMPBOX_DEBUG", raising=False)
    _raise_in_plan(monkeypatch, KeyError("tools"))
    line = one_line(
        cli(capsys, "plan", "--no-write"),
        70,
        "internal error (KeyError: 'tools')",
        "please report it",
        "AKS_JUMPBOX_DEBUG=1",
    )
    assert line.endswith("for the trace")


def test_with_debug_the_trace_is_shown_too(monkeypatch, capsys):
    monkeypatch.setenv("AKS_JUMPBOX_DEBUG", "1")
    _raise_in_plan(monkeypatch, KeyError("tools"))
    rc, _, err = cli(capsys, "plan", "--no-write")
    assert rc == 70
    assert "Traceback (most recent call last)" in err and "KeyError: 'tools'" in err
    assert err.rstrip().splitlines()[-1].startswith("error: internal error (KeyError")


@pytest.mark.parametrize("debug", ["", "1"])
def test_no_secret_is_printed_even_in_the_trace(monkeypatch, capsys, debug):
    secret = "pA55-w0rd-do-not-print"
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQifQ.c2lnbmF0dXJlLXN0dWZm"
    monkeypatch.setenv("AZURE_CLIENT_SECRET", secret)
    monkeypatch.setenv("AKS_JUMPBOX_DEBUG", debug)
    _raise_in_plan(monkeypatch, RuntimeError(f"request failed: secret={secret} Authorization: Bearer {jwt}"))
    rc, out, err = cli(capsys, "plan", "--no-write")
    assert rc == 70
    assert secret not in out + err and jwt not in out + err and "eyJ" not in err
    assert "<AZURE_CLIENT_SECRET redacted>" in err


def test_control_characters_in_a_message_cannot_drive_the_terminal(monkeypatch, capsys):
    _raise_in_plan(monkeypatch, UserError("name 'x\x1b]0;pwned\x07\u202e' is bad"))
    line = one_line(cli(capsys, "plan", "--no-write"), 2)
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line
    assert "\\x1b]0;pwned\\x07\\u202e" in line


@pytest.mark.parametrize(
    "exc, code, needles",
    [
        (UserError("spec.name is bad.", fix="Rename it."), 2, ["spec.name is bad. Rename it."]),
        (OperationFailed("the build failed"), 1, ["the build failed"]),
        (
            PermissionError(errno.EACCES, "Permission denied", "/srv/out/provision.sh"),
            2,
            ["/srv/out/provision.sh: permission denied", "permissions"],
        ),
        (OSError(errno.EROFS, "Read-only file system", "/ro/out"), 2, ["/ro/out: the file system is read-only"]),
        (
            NotADirectoryError(errno.ENOTDIR, "Not a directory", "out/arm/network.json"),
            2,
            ["out/arm/network.json: a part of the path is a file"],
        ),
        (
            OSError(errno.ELOOP, "Too many levels of symbolic links", "loop.yaml"),
            2,
            ["loop.yaml: too many symbolic links"],
        ),
        (OSError(errno.ENOSPC, "No space left on device"), 2, ["no space left"]),
        (FileExistsError(errno.EEXIST, "File exists", "a.tmp", None, "a.json"), 2, ["a.tmp -> a.json: already exists"]),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), 1, ["ConnectionResetError", "network"]),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), 2, ["not UTF-8 text", "invalid start byte"]),
        (
            UnicodeEncodeError("ascii", "\u2026", 0, 1, "ordinal not in range"),
            2,
            ["encoding (ascii)", "PYTHONIOENCODING"],
        ),
        (RecursionError("maximum recursion depth exceeded"), 2, ["nested too deeply"]),
        (MemoryError(), 2, ["ran out of memory"]),
    ],
)
def test_expected_failures_are_one_line(monkeypatch, capsys, exc, code, needles):
    monkeypatch.delenv("AKS_JUMPBOX_DEBUG", raising=False)
    _raise_in_plan(monkeypatch, exc)
    one_line(cli(capsys, "plan", "--no-write"), code, *needles)


def test_the_real_entry_point_prints_no_trace_for_an_internal_error(tmp_path):
    # A fresh interpreter running the installed entry point's function, the command made to fail inside.
    code = (
        "import sys\nfrom aks_jumpbox.cli.commands import plan\n"
        "def boom(**kw): raise ZeroDivisionError('division by zero')\n"
        "plan.command.callback = boom\n"
        "from aks_jumpbox.cli.main import main\nsys.exit(main(['plan', '--no-write']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "AKS_JUMPBOX_DEBUG"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 70 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: internal error (ZeroDivisionError: division by zero)")


# ---- bad input through real commands


def test_symlink_loop_non_utf8_and_deep_nesting_are_bad_input(tmp_path, capsys):
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    one_line(cli(capsys, "plan", "--no-write", "-f", str(loop)), 2, "loop.yaml")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"name: caf\xe9\n")
    one_line(cli(capsys, "plan", "--no-write", "-f", str(latin1)), 2, "UTF-8")
    lock = tmp_path / "lock.json"
    lock.write_bytes(b'{"tools": \xff}')
    one_line(cli(capsys, "plan", "--no-write", "--lock", str(lock)), 2, "UTF-8")
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: " + "[" * 20000 + "]" * 20000)
    rc, out, err = cli(capsys, "plan", "--no-write", "-f", str(deep))
    assert rc == 2 and "Traceback" not in out + err and err.startswith("error: ")


def test_out_folder_that_is_a_file_is_bad_input(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "arm").write_text("not a folder")
    rc, out, err = cli(capsys, "plan", "--out", str(tmp_path / "out"))
    assert rc == 2 and "Traceback" not in out + err
    assert "arm" in err and err.startswith("error: "), err


# ---- the environment


@pytest.mark.parametrize(
    "value, needle",
    [
        ("yesterday", "is not a number"),
        ("\u00b2", "is not a number"),
        ("-1", "is not a number"),
        ("99999999999999999999", "after the year 9999"),
        ("253402300800", "after the year 9999"),
    ],
)
def test_source_date_epoch_out_of_range_or_not_an_integer(tmp_path, monkeypatch, capsys, value, needle):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    one_line(cli(capsys, "report", "--out", str(tmp_path / "r")), 2, "SOURCE_DATE_EPOCH", needle, "unset it")
    assert not (tmp_path / "r").exists(), "nothing is written"


def test_source_date_epoch_at_the_last_second_of_9999_is_fine(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "253402300799")
    rc, _, err = cli(capsys, "report", "--out", str(tmp_path / "r"))
    assert rc == 0, err
    assert json.loads((tmp_path / "r" / "sbom.cdx.json").read_text())["metadata"]["timestamp"].startswith("9999-12-31")


def test_a_debug_flag_that_is_not_a_flag_is_named(monkeypatch, capsys):
    monkeypatch.setenv("AKS_JUMPBOX_DEBUG", "maybe")
    one_line(cli(capsys, "plan", "--no-write"), 2, "AKS_JUMPBOX_DEBUG='maybe'", "unset it")


@pytest.mark.parametrize(
    "var, value", [("COLUMNS", "\u00b2"), ("LINES", "\u00b2"), ("COLUMNS", "-3"), ("COLUMNS", "99999999999")]
)
def test_a_terminal_size_that_is_not_a_size_is_ignored(monkeypatch, capsys, var, value):
    monkeypatch.setenv(var, value)
    rc, out, err = cli(capsys, "plan", "--no-write")
    assert rc == 0 and "Traceback" not in err and "aks-jumpbox plan" in out


def test_release_feed_from_the_environment_is_named(monkeypatch, capsys):
    monkeypatch.setenv("AKS_JUMPBOX_RELEASE_FEED", "https://user:pw@feed.example/x")
    rc, out, err = cli(capsys, "outdated")
    assert rc == 2 and "Traceback" not in out + err
    assert "(from AKS_JUMPBOX_RELEASE_FEED)" in err and "user name or password" in err


@pytest.mark.parametrize(
    "env, needles",
    [
        ({"AZURE_TENANT_ID": "contoso/../x"}, ["AZURE_TENANT_ID='contoso/../x'", "GUID", "az account show"]),
        ({"AZURE_TENANT_ID": "bad tenant"}, ["AZURE_TENANT_ID", "tenant ID"]),
        ({"AZURE_CLIENT_ID": "my-app"}, ["AZURE_CLIENT_ID='my-app'", "GUID"]),
        ({"AZURE_CLIENT_CERTIFICATE_PATH": "/nonexistent/cert.pem"}, ["AZURE_CLIENT_CERTIFICATE_PATH", "no such file"]),
        ({"AZURE_FEDERATED_TOKEN_FILE": "/"}, ["AZURE_FEDERATED_TOKEN_FILE", "not a regular file"]),
        ({"AZURE_AUTHORITY_HOST": "https://[x"}, ["AZURE_AUTHORITY_HOST", "not a valid URL"]),
        ({"AZURE_AUTHORITY_HOST": "https://login.example\n.com"}, ["AZURE_AUTHORITY_HOST", "control character"]),
        ({"AZURE_ARM_ENDPOINT": "https://me@management.example"}, ["AZURE_ARM_ENDPOINT", "user name or password"]),
        ({"AZURE_ARM_ENDPOINT": "https://management.example:99999"}, ["AZURE_ARM_ENDPOINT", "not a valid URL"]),
        ({"AZURE_STORAGE_SUFFIX": "core windows net"}, ["AZURE_STORAGE_SUFFIX", "not a DNS name"]),
        ({"AZURE_STORAGE_AUDIENCE": "storage.azure.com"}, ["AZURE_STORAGE_AUDIENCE", "https://"]),
        ({"AKS_JUMPBOX_WATCH_SECONDS": "inf"}, ["AKS_JUMPBOX_WATCH_SECONDS", "finite"]),
        ({"AKS_JUMPBOX_POLL_SECONDS": "nan"}, ["AKS_JUMPBOX_POLL_SECONDS", "finite"]),
        ({"AKS_JUMPBOX_READ_TIMEOUT": "1e9"}, ["AKS_JUMPBOX_READ_TIMEOUT", "more than"]),
        ({"AKS_JUMPBOX_RETRY_TOTAL": "\u00b2"}, ["AKS_JUMPBOX_RETRY_TOTAL", "whole number"]),
        ({"AZURE_TOKEN_CREDENTIALS": "bogus"}, ["sign-in settings", "AZURE_TOKEN_CREDENTIALS"]),
        ({"AZURE_SUBSCRIPTION_ID": "not-a-guid"}, ["AZURE_SUBSCRIPTION_ID", "GUID"]),
    ],
)
def test_azure_environment_mistakes_are_named(offline_azure, monkeypatch, capsys, env, needles):
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    one_line(cli(capsys, "status"), 2, *needles)


def test_a_certificate_azure_identity_cannot_read_is_bad_input(offline_azure, monkeypatch, capsys, tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate\n")
    monkeypatch.setenv("AZURE_TENANT_ID", "contoso.onmicrosoft.com")
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", str(cert))
    one_line(cli(capsys, "status"), 2, "sign-in settings", "certificate", "AZURE_CLIENT_CERTIFICATE_PATH")


def test_valid_tenant_forms_pass():
    from aks_jumpbox.azure.clients import check_identity_env

    for tenant in ("72f988bf-86f1-41af-91ab-2d7cd011db47", "contoso.onmicrosoft.com", "organizations"):
        check_identity_env({"AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000001"})


# ---- sign-in: a DNS failure is not a missing sign-in


class _Inner:
    def __init__(self, message: str) -> None:
        self.message, self.calls = message, 0

    def get_token(self, *scopes, **kwargs):
        from azure.core.exceptions import ClientAuthenticationError

        self.calls += 1
        raise ClientAuthenticationError(message=self.message)


DNS_FAILURE = (
    "DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted credentials:\n"
    "\tEnvironmentCredential: Authentication failed: HTTPSConnectionPool(host='login.microsoftonline.com', "
    'port=443): Max retries exceeded (Caused by NameResolutionError("Failed to resolve '
    "'login.microsoftonline.com' ([Errno -3] Temporary failure in name resolution)\"))"
)


def test_a_name_resolution_failure_at_sign_in_is_named_as_dns():
    from aks_jumpbox.azure.clients import CachingCredential
    from aks_jumpbox.azure.errors import AzureFailure, arm

    inner = _Inner(DNS_FAILURE)
    cred = CachingCredential(inner)
    for _ in range(2):
        with pytest.raises(AzureFailure) as err, arm("reading the template"):
            cred.get_token("https://management.azure.com/.default")
        text = str(err.value)
        assert err.value.code == "NameResolutionFailed" and "login.microsoftonline.com" in text
        assert "DNS" in text and "az login" not in text
    assert inner.calls == 1, "one sign-in attempt per command"


def test_a_missing_sign_in_still_says_az_login():
    from aks_jumpbox.azure.clients import CachingCredential
    from aks_jumpbox.azure.errors import AzureFailure, arm

    cred = CachingCredential(
        _Inner(
            "DefaultAzureCredential failed to retrieve a token.\n\tAzureCliCredential: "
            "Please run 'az login' to set up an account"
        )
    )
    with pytest.raises(AzureFailure) as err, arm("reading the template"):
        cred.get_token("https://management.azure.com/.default")
    assert err.value.code == "CredentialUnavailable" and "az login" in str(err.value)


# ---- output streams


def test_a_closed_pipe_ends_quietly(tmp_path):
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte is written: deterministic EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "aks_jumpbox.cli.main", "plan", "--no-write"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
    finally:
        os.close(write)
    assert done.returncode == 1 and "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


def test_an_ascii_terminal_gets_escapes_not_a_crash(tmp_path):
    spec = tmp_path / "caf\u00e9" / "jumpbox.yaml"
    spec.parent.mkdir()
    assert run_cli("init", "--dir", str(spec.parent)).returncode == 0
    done = run_cli("plan", "--no-write", "-f", str(spec), env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "caf\\xe9" in done.stdout


def test_a_spec_error_names_its_file_with_a_markup_like_path(tmp_path, capsys, default_data):
    folder = tmp_path / "a[/]b[bold]"  # a folder "a[" holding "]b[bold]"
    folder.mkdir(parents=True)
    (folder / "jumpbox.yaml").write_text(yaml.safe_dump(variant(default_data, name="BAD NAME")))
    line = one_line(cli(capsys, "plan", "--no-write", "-f", str(folder / "jumpbox.yaml")), 2, "a[/]b[bold]")
    assert "name" in line


def test_report_error_never_raises_for_odd_exceptions(capsys):
    class Weird(Exception):
        def __str__(self) -> str:
            return ""

    assert present.report_error(Weird()) == 70
    assert capsys.readouterr().err.startswith("error: internal error (Weird: )")


# ---- misleading messages


def test_lock_with_a_new_lock_path_creates_it(tmp_path, default_data):
    from tests.integration.test_lock_online import _publish
    from tests.support.https_server import StaticHttps

    tools = {"helm": "4.2.0", "kubectl": "1.36.0"}  # not in the embedded lock: nothing to compare digests with
    digests = _publish(tmp_path / "www" / "m", tools)
    with StaticHttps(tmp_path / "www", tmp_path) as srv:
        spec = tmp_path / "jumpbox.yaml"
        spec.write_text(yaml.safe_dump(variant(default_data, tools=tools, mirror={"artifacts": f"{srv.url}/m"})))
        new = tmp_path / "locks" / "NEW.json"
        new.parent.mkdir()
        result = run_cli("lock", "-f", str(spec), "--lock", str(new), env={"SSL_CERT_FILE": str(srv.ca_file)})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "create it with" not in result.stdout + result.stderr
    assert f"creating {new}" in result.stdout and f"wrote {new}" in result.stdout
    lock = json.loads(new.read_text())
    assert lock["tools"]["helm"][0]["artifacts"]["amd64"]["sha256"] == digests[("helm", "amd64")]
    assert not (tmp_path / "jumpbox.lock.json").exists(), "only the lock named was written"


def test_a_mistyped_command_gets_a_suggestion(capsys):
    rc, _, err = cli(capsys, "plna")
    assert rc == 2 and "No such command 'plna'. Did you mean 'plan'?" in err


def test_an_unknown_command_is_shown_escaped_without_a_suggestion(capsys):
    rc, _, err = cli(capsys, "x\x1b[2Jy")
    assert rc == 2 and "\x1b" not in err and "No such command 'x\\x1b[2Jy'." in err and "Did you mean" not in err
