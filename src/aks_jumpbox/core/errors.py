"""Errors the user can act on. Each carries one sentence of what is wrong and what to change."""

from __future__ import annotations

from dataclasses import dataclass


class UserError(Exception):
    """A mistake in the user's input: reported as one clear message, exit code 2."""

    exit_code = 2

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        if not self.fix:
            return self.message
        # The fix is its own sentence: end the message first unless it already ends one.
        sep = " " if self.message.rstrip().endswith((".", "!", "?", ":", ";")) else ". "
        return f"{self.message}{sep}{self.fix}"


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class SpecError(UserError):
    """The spec (or lock) file is invalid; lists every located problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class OperationFailed(Exception):
    """A check, build or Azure operation failed: exit code 1."""

    exit_code = 1


class NoNetwork(OperationFailed):
    """The environment has no network to where the command must go: exit 3, like a failed sign-in (the
    environment needs fixing, not the input, and nothing failed that a re-run alone would change)."""

    exit_code = 3
    kind = "network"


class Unreachable(NoNetwork):
    """A host could not be reached at all (its name does not resolve, no route, refused, no answer to a connect):
    no retry helps, so the HTTPS adapter gives up at once and every later fetch in the process fails fast."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"cannot reach {host} ({reason})")
        self.host = host
        self.reason = reason
