"""GitHub Actions annotations: `::error file=…,line=…,title=…::message` lines, when GITHUB_ACTIONS=true.

GitHub reads a workflow command from each line a step prints:
https://docs.github.com/actions/reference/workflow-commands-for-github-actions#setting-an-error-message
Values are escaped as its toolkit does (actions/toolkit, packages/core/src/command.ts): in the message
`%`, CR and LF become %25, %0D, %0A; in a property also `:` and `,` become %3A, %2C. So a value holding
a newline stays on its line, and no value can end a property early or start a second command.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping

_KINDS = ("error", "warning", "notice")
_BREAK = re.compile(r"(\r\n|\r|\n)")


def enabled(env: Mapping[str, str] | None = None) -> bool:
    """GitHub's runner sets GITHUB_ACTIONS=true in every step."""
    return (os.environ if env is None else env).get("GITHUB_ACTIONS", "").strip().lower() == "true"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def defuse(line: str, env: Mapping[str, str] | None = None) -> str:
    """An ordinary output line that cannot be read as a workflow command under GitHub Actions.

    The runner treats a line as a command when, leading whitespace trimmed, it starts with `::`, or
    when it holds `##[` anywhere (the older form). So a value from a spec or from Azure printed at the
    start of a line, or holding `##[`, is a way in; and so is one holding a line break (printable() keeps
    LF): each line of the text is defused, as the runner reads each (it breaks lines at LF, CR and CRLF).
    Outside GitHub Actions the text is unchanged."""
    if not enabled(env):
        return line
    parts = _BREAK.split(line.replace("##[", "## ["))
    # parts alternate: a line, its break, a line, ...
    return "".join(f"> {p}" if i % 2 == 0 and p.lstrip().startswith("::") else p for i, p in enumerate(parts))


def command(
    kind: str, message: str, *, file: str | None = None, line: int | None = None, title: str | None = None
) -> str:
    """One workflow command line (no newline at its end)."""
    if kind not in _KINDS:
        raise ValueError(f"annotation kind {kind!r}: expected one of {', '.join(_KINDS)}")
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
    if file and line:
        props.append(f"line={int(line)}")
    if title:
        props.append(f"title={escape_property(title)}")
    head = f"::{kind} {','.join(props)}" if props else f"::{kind}"
    return f"{head}::{escape_data(message)}"


def emit(
    kind: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
    to_stderr: bool = False,
) -> None:
    """Print the annotation when running in GitHub Actions (else nothing). The runner reads workflow
    commands from both streams: with -o json they go to stderr, so stdout stays one JSON document."""
    if not enabled():
        return
    from aks_jumpbox.cli.present import printable, redact

    # `##[` inside the message is harmless (the line parses as this command first) but is defused all the
    # same, so no output line of the tool holds the older form.
    message = printable(redact(message)).replace("##[", "## [")
    text = command(kind, message, file=file and printable(file), line=line, title=title)
    stream = sys.stderr if to_stderr else sys.stdout
    stream.write(text + "\n")
    stream.flush()
