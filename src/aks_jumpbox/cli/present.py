"""Presentation helpers shared by commands: errors, JSON output, rich consoles.

Errors: every exception that leaves a command ends here as one message on stderr and an exit code
(EXIT_CODES, listed by `--help` and the README): 2 bad input or a bad environment (a spec, an argument,
an environment variable, a file the user named), 3 a failed sign-in (no credential, a token refused),
1 any other failed operation (a check, a build, an Azure or network failure), 70 an internal error (a
bug in aks-jumpbox; EX_SOFTWARE of sysexits.h, so scripts can tell it from all of these). With
`--output json` the error is also one JSON document on stdout, `{"error": {"message", "fix",
"exit_code", "kind", ...}}`; under GitHub Actions it is also an annotation (cli/annotations.py).
Tracebacks are shown only with AKS_JUMPBOX_DEBUG=1. Nothing printed here ever holds a secret: known
secret values and token shapes are redacted, and control characters are shown escaped so input cannot
drive the terminal.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import click

from aks_jumpbox.core.errors import OperationFailed, SpecError, UserError

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_SIGN_IN, EXIT_CHANGES, EXIT_INTERNAL, EXIT_INTERRUPTED = 1, 2, 3, 4, 70, 130
# Every exit code, for `--help` (cli/main.py) and the README (tests/contract/test_docs.py holds them equal).
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (0, "done (deploy --what-if --exit-code: nothing would change)"),
    (EXIT_FAILED, "a check, build or Azure operation failed (the message keeps Azure's code)"),
    (EXIT_BAD_INPUT, "bad input: a spec, lock, argument, variable or file (named, with the fix); nothing sent"),
    (EXIT_SIGN_IN, "the environment: sign-in failed (no Azure credential, a refused token) or no network"),
    (EXIT_CHANGES, "deploy --what-if --exit-code: deploy would change something"),
    (EXIT_INTERNAL, "internal error (a bug: please report it; AKS_JUMPBOX_DEBUG=1 shows the trace)"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C or SIGTERM)"),
)
DEBUG_VAR = "AKS_JUMPBOX_DEBUG"
_ON, _OFF = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}

# Environment variables whose values are secrets: never echoed, even inside an SDK's message.
SECRET_VARS = (
    "AZURE_CLIENT_SECRET",
    "AZURE_PASSWORD",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "IDENTITY_HEADER",
    "MSI_SECRET",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "SYSTEM_ACCESSTOKEN",
    "AZURE_DEVOPS_EXT_PAT",
)
_TOKEN_SHAPES = (
    re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*"),  # a JWT (access or ID token)
    re.compile(r"(?i)(bearer\s+)[\w.~+/=-]{8,}"),
    re.compile(r"(?i)((?:^|[?&;\s])(?:sig|accountkey|sharedaccesskey|client_secret|password)=)[^&;\s\"']+"),
)
# C0/C1 controls except tab and newline (messages may span lines), DEL, and Unicode bidi/format overrides.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def debug_enabled(env: Mapping[str, str] | None = None) -> bool:
    """AKS_JUMPBOX_DEBUG=1 (or true/yes/on): tracebacks and azure-identity's own warnings are shown."""
    value = (os.environ if env is None else env).get(DEBUG_VAR, "").strip().lower()
    return value in _ON


def check_debug_var(env: Mapping[str, str] | None = None) -> None:
    raw = (os.environ if env is None else env).get(DEBUG_VAR, "")
    if raw.strip().lower() not in _ON | _OFF:
        raise UserError(
            f"{DEBUG_VAR}={printable(raw)!r} is not 0 or 1.", fix=f"Set {DEBUG_VAR}=1 to show tracebacks, or unset it."
        )


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """text without the values of secret environment variables or anything shaped like a token."""
    env = os.environ if env is None else env
    for var in SECRET_VARS:
        value = env.get(var, "")
        if len(value) >= 4:
            text = text.replace(value, f"<{var} redacted>")
    for shape in _TOKEN_SHAPES:
        text = shape.sub(lambda m: (m.group(1) if m.groups() else "") + "<redacted>", text)
    return text


def printable(text: str) -> str:
    """text with control and bidi characters escaped (\\x1b, \\u202e): input cannot restyle the terminal."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class _Output:
    """Whether this command's stdout is JSON (-o json): then its errors are JSON documents there too."""

    json = False


def set_json_output(value: bool) -> None:
    _Output.json = value


def json_output() -> bool:
    return _Output.json


def _record_output(ctx: click.Context, param: click.Parameter, value: str) -> str:
    set_json_output(value == "json")
    return value


def wants_json(argv: list[str]) -> bool:
    """-o json / --output json / --output=json / -ojson among the arguments (before `--`): for errors
    found before the option itself is read (a bad option earlier on the line)."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg in ("-ojson", "--output=json") or (arg in ("-o", "--output") and argv[i + 1 : i + 2] == ["json"]):
            return True
    return False


def _say(text: str) -> None:
    from aks_jumpbox.cli.annotations import defuse

    for line in printable(redact(text)).split("\n"):
        click.echo(defuse(line), err=True)


@dataclass
class ErrorReport:
    """One error as every reader gets it: people (stderr), machines (JSON), GitHub (annotations)."""

    exit_code: int
    kind: str  # input | spec | sign-in | failed | internal | usage
    message: str
    fix: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    shown: list[str] | None = None  # stderr's lines when not "error: <message> <fix>"
    problems: list[Any] = field(default_factory=list)  # a spec error's located problems

    def lines(self) -> list[str]:
        if self.shown is not None:
            return self.shown
        return [f"error: {self.message}" + (f" {self.fix}" if self.fix else "")]

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {**self.extra, "message": self.message, "fix": self.fix}
        doc.update({"exit_code": self.exit_code, "kind": self.kind})
        if self.problems:
            doc["problems"] = [
                {"file": p.file, "line": p.line, "field": p.field, "message": p.message} for p in self.problems
            ]
        return _clean_json(doc)


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    return value


_PERMISSIONS = "Check the permissions of the file and its folder, or use another path."
_OS_ERRORS: dict[int, tuple[str, str]] = {
    errno.ENOENT: ("no such file or directory", "Check the path."),
    errno.EACCES: ("permission denied", _PERMISSIONS),
    errno.EPERM: ("operation not permitted", _PERMISSIONS),
    errno.EROFS: ("the file system is read-only", "Choose a folder you can write to."),
    errno.EISDIR: ("is a folder, where a file was expected", "Give the path of a file."),
    errno.ENOTDIR: (
        "a part of the path is a file, where a folder was expected",
        "Remove or rename that file, or choose another path.",
    ),
    errno.ELOOP: (
        "too many symbolic links (a loop, or a link where none is followed)",
        "Replace the link with a real file or folder.",
    ),
    errno.EEXIST: ("already exists", "Remove it or choose another path."),
    errno.ENOSPC: ("no space left on the device", "Free some space or choose another folder."),
    errno.EDQUOT: ("disk quota exceeded", "Free some space or choose another folder."),
    errno.ENAMETOOLONG: ("the name is too long", "Choose a shorter path."),
    errno.ENXIO: ("not a regular file (a device or socket)", "Give the path of a regular file."),
    errno.ETXTBSY: ("the file is busy", "Close what uses it and re-run."),
}
# Without a path these still say the environment is at fault (bad input or environment: exit 2).
_ENVIRONMENT_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}


def _os_error(exc: OSError) -> ErrorReport:
    what, fix = _OS_ERRORS.get(exc.errno or 0, (exc.strerror or type(exc).__name__, "Check the path."))
    if exc.filename is not None:
        where = os.fsdecode(exc.filename)
        if exc.filename2 is not None:
            where += f" -> {os.fsdecode(exc.filename2)}"
        return ErrorReport(EXIT_BAD_INPUT, "input", f"{where}: {what}.", fix, {"path": where})
    if exc.errno in _ENVIRONMENT_ERRNOS:
        return ErrorReport(EXIT_BAD_INPUT, "input", f"{what}.", fix)
    # A socket, TLS or pipe failure: the operation failed, the input may well be fine.
    return ErrorReport(
        EXIT_FAILED,
        "failed",
        f"{type(exc).__name__}: {exc.strerror or exc}",
        "Check the network (DNS, proxy, firewall) and re-run.",
    )


def issues_url() -> str:
    """Where to report a bug: the package's Issues URL when its metadata names one."""
    try:
        from importlib.metadata import metadata

        for entry in metadata("aks-jumpbox").get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            if label.strip().lower() in ("issues", "bug tracker", "bugs", "tracker"):
                return url.strip()
    except Exception:  # noqa: BLE001 - metadata is a nicety; the message must still be printed
        pass
    return "the aks-jumpbox issue tracker"


def describe_error(exc: BaseException) -> ErrorReport:
    """What to say about exc, and its exit code (see EXIT_CODES)."""
    if isinstance(exc, SpecError):
        # One line each: a newline in a file name or value is shown escaped.
        shown = [f"error: {problem}".replace("\n", "\\n") for problem in exc.problems]
        first = str(exc.problems[0]) if exc.problems else str(exc)
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        return ErrorReport(EXIT_BAD_INPUT, "spec", first + more, None, shown=shown, problems=list(exc.problems))
    if isinstance(exc, UserError):
        return ErrorReport(EXIT_BAD_INPUT, "input", exc.message, exc.fix, shown=[f"error: {exc}"])
    if isinstance(exc, OperationFailed):
        code = getattr(exc, "exit_code", EXIT_FAILED)
        kind = getattr(exc, "kind", "failed")
        to_json = getattr(exc, "to_json", None)
        extra = dict(to_json()) if callable(to_json) else {}
        hint = getattr(exc, "hint", None)
        if "message" in extra:  # Azure's own message, kept beside the whole sentence
            extra["azureMessage"] = extra.pop("message")
        first = str(exc).split("\n", 1)[0]
        return ErrorReport(code, kind, first, hint, extra, shown=[f"error: {exc}"])
    if isinstance(exc, UnicodeDecodeError):
        return ErrorReport(
            EXIT_BAD_INPUT,
            "input",
            f"an input is not UTF-8 text ({exc.reason} at byte {exc.start}).",
            "Save it as UTF-8 and re-run.",
        )
    if isinstance(exc, UnicodeEncodeError):
        return ErrorReport(
            EXIT_BAD_INPUT,
            "input",
            f"the output cannot be written in this terminal's encoding ({exc.encoding}).",
            "Use a UTF-8 locale or set PYTHONIOENCODING=utf-8.",
        )
    if isinstance(exc, OSError):
        return _os_error(exc)
    if isinstance(exc, RecursionError):
        return ErrorReport(
            EXIT_BAD_INPUT,
            "input",
            "an input is nested too deeply (or refers to itself) to be processed.",
            "Check the spec and lock you passed: they are a few levels deep.",
        )
    if isinstance(exc, MemoryError):
        return ErrorReport(
            EXIT_BAD_INPUT,
            "input",
            "ran out of memory reading the input.",
            "Check that -f and --lock name the spec and lock (not a device or a huge file).",
        )
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return ErrorReport(
        EXIT_INTERNAL,
        "internal",
        f"internal error ({type(exc).__name__}: {first}); please report it at {issues_url()}; "
        f"run with {DEBUG_VAR}=1 for the trace",
    )


def show_error(report: ErrorReport) -> None:
    """stderr for people; stdout's JSON document in JSON mode; annotations under GitHub Actions."""
    from aks_jumpbox.cli import annotations

    for line in report.lines():
        _say(line)
    if json_output() and not _emitted:  # a command that already wrote its document (with the refusal) keeps one
        try:
            emit_json({"error": report.to_json()})
        except (OSError, ValueError):  # stdout closed: stderr has said it
            pass
    if report.problems:
        for p in report.problems:
            annotations.emit(
                "error", p.message, file=p.file, line=p.line, title=p.field or "spec", to_stderr=json_output()
            )
    else:
        text = report.message + (f" {report.fix}" if report.fix else "")
        annotations.emit("error", text, title=f"aks-jumpbox ({report.kind})", to_stderr=json_output())


def report_error(exc: BaseException) -> int:
    """Print exc for people and machines (one message, no traceback unless AKS_JUMPBOX_DEBUG=1); return
    the exit code."""
    if not isinstance(exc, UserError | OperationFailed) and debug_enabled():
        _say("".join(traceback.format_exception(exc)).rstrip("\n"))
    report = describe_error(exc)
    show_error(report)
    return report.exit_code


def _size_var(value: str) -> bool:
    return value.isascii() and value.isdigit() and 0 < int(value) <= 10_000


def console(stderr: bool = False, **kwargs: Any):
    """A rich console for people. Markup is on for the tool's own styles, so every value printed through
    it is escaped (`esc`) or passed as rich Text; emoji codes (`:x:`) are off, so no value turns into one.
    A COLUMNS or LINES that is not a plain size (rich would crash on `²`) is ignored, as a terminal would."""
    from rich.console import Console

    env = dict(os.environ)
    for var in ("COLUMNS", "LINES"):
        if var in env and not _size_var(env[var]):
            del env[var]
    return Console(stderr=stderr, highlight=False, soft_wrap=False, emoji=False, _environ=env, **kwargs)


def esc(value: object) -> str:
    """A value for rich markup: printed as written, never read as a style (`[/]`, `[bold]`)."""
    from rich.markup import escape

    return escape(printable(f"{value}"))


_emitted: list[bool] = []  # whether this invocation has written its stdout document


def new_invocation() -> None:
    """Forget the previous invocation's document (one process may run several, as tests do)."""
    _emitted.clear()


# Characters a terminal or an editor acts on even inside a JSON string: C1 controls (0x9b is CSI on some
# terminals), bidi overrides and isolates (text that reads other than it is), line/paragraph separators.
_JSON_INERT = re.compile("[\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_text(value: Any, indent: int | None = None) -> str:
    """JSON for machines that a person's terminal may also show: the characters above as \\uXXXX escapes,
    which any JSON reader decodes to the same value."""
    from aks_jumpbox.cli.annotations import enabled

    text = json.dumps(value, indent=indent, ensure_ascii=False)
    text = _JSON_INERT.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if enabled():
        # GitHub's runner reads `##[` anywhere in a line as a workflow command; in JSON it can only be
        # inside a string, where \u0023 is the same `#`: the document's values are unchanged.
        text = text.replace("##[", "\\u0023#[")
    return text


def emit_json(value: Any) -> None:
    """Write the command's one JSON document on stdout."""
    text = json_text(value, indent=2)
    _emitted.append(True)
    sys.stdout.write(text + "\n")


output_option = click.option(
    "--output",
    "-o",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    callback=_record_output,
    help='text for people, json for machines (errors too: one {"error": ...} document on stdout).',
)
spec_option = click.option(
    "--file",
    "-f",
    "spec_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="The spec. Default: ./jumpbox.yaml if present, else the embedded default.",
)
lock_option = click.option(
    "--lock",
    "lock_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="The lock. Default: jumpbox.lock.json beside the spec if present, else the embedded default.",
)


def from_env(ctx: click.Context, param: click.Parameter) -> str:
    """' (from AKS_JUMPBOX_X)' when the option's value came from its environment variable."""
    from click.core import ParameterSource

    if param.name and ctx.get_parameter_source(param.name) is ParameterSource.ENVIRONMENT:
        return f" (from {param.envvar})"
    return ""


def _https_feed(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if not value:
        return None
    from aks_jumpbox.azure.cloud import https_problem

    if problem := https_problem(value):
        raise click.BadParameter(
            f"{printable(value)!r}{from_env(ctx, param)} {problem}; give the feed as https://host[/path]",
            ctx=ctx,
            param=param,
        )
    return value.rstrip("/")


def https_argument(option: str, value: str) -> str:
    """value if it is an https:// URL by the rule of every URL the tool reads (core/urls.py); else a
    UserError naming option. A value holding credentials is not echoed back."""
    from aks_jumpbox.core.urls import UrlError, check_url

    try:
        return check_url(value, schemes=("https",))
    except UrlError as exc:
        shown = "" if "@" in value else f" {printable(value)!r}"
        # The URL rule's messages say what to write instead.
        raise UserError(f"{option}{shown}: the URL {exc}.") from None


feed_option = click.option(
    "--feed",
    "feed",
    envvar="AKS_JUMPBOX_RELEASE_FEED",
    default=None,
    metavar="URL",
    callback=_https_feed,
    help="A mirror of release metadata (for networks that cannot reach the upstream APIs): "
    "https://HOST/PATH is read from URL/HOST/PATH. Default: env AKS_JUMPBOX_RELEASE_FEED, else upstream.",
)
