"""Faults on demand: throttling, transient server errors, dropped connections, any ARM error,
and failing Image Builder steps.

A rule matches a request by method and path regexes (``re.search``, case-insensitive, path without the
query string) and fires ``count`` times, on consecutive matching requests. Note that azure-core's
default RetryPolicy allows 3 status retries per call: more than 3 consecutive 429/5xx on one call
surface as an error to the caller, as they would against Azure.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from .wire import ArmError, DropConnection, Request


@dataclass
class FaultRule:
    method: str
    path: str
    count: int
    kind: str  # "error" | "drop" | "answer"
    status: int = 0
    code: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    after: bool = False  # drop: process the request, then lose the response
    body: object = None  # answer: the canned JSON body
    hits: int = 0

    def matches(self, req: Request) -> bool:
        return (
            self.hits < self.count
            and re.fullmatch(self.method, req.method, re.IGNORECASE) is not None
            and re.search(self.path, req.path, re.IGNORECASE) is not None
        )

    @property
    def exhausted(self) -> bool:
        return self.hits >= self.count


@dataclass
class StepFailure:
    """Make a build step fail. ``customizer``: name of the customizer (None: first whose output matches
    ``at``, else the last one). ``at``: regex; output stops after the first matching line (the step
    marker of the failing step). ``stderr``: lines the failing command printed."""

    customizer: str | None = None
    at: str | None = None
    exit_code: int = 1
    stderr: tuple[str, ...] = ("error: command failed",)


def _retry_after_value(seconds: float) -> str:
    # azure-core parses Retry-After as a float; whole seconds are what Azure sends.
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


class Faults:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self.customizer_failure: StepFailure | None = None
        self.validation_failure: StepFailure | None = None
        self._lock = threading.Lock()

    # ---- transport-level faults

    def throttle(self, count: int = 3, method: str = ".*", path: str = ".*", retry_after: float = 1) -> FaultRule:
        """``count`` responses 429 with ``Retry-After`` (seconds; fractions are honoured by azure-core)."""
        return self.add(
            FaultRule(
                method,
                path,
                count,
                "error",
                429,
                "TooManyRequests",
                "The request is being throttled as the limit has been reached for operation type "
                "- Read_ObservationWindow_00:05:00. For more information, see "
                "https://aka.ms/srpthrottlinglimits",
                {
                    "Retry-After": _retry_after_value(retry_after),
                    "x-ms-ratelimit-remaining-subscription-reads": "0",
                },
            )
        )

    def server_error(self, count: int = 1, status: int = 500, method: str = ".*", path: str = ".*") -> FaultRule:
        code, message = {
            500: ("InternalServerError", "Encountered internal server error. Please try again."),
            502: ("BadGateway", "The gateway did not receive a response from the service."),
            503: ("ServiceUnavailable", "The service is temporarily unavailable. Please try again later."),
            504: (
                "GatewayTimeout",
                "The gateway did not receive a response within the specified time period.",
            ),
        }.get(status, ("InternalServerError", "Encountered internal server error."))
        return self.add(FaultRule(method, path, count, "error", status, code, message))

    def drop(self, count: int = 1, method: str = ".*", path: str = ".*", after: bool = False) -> FaultRule:
        """Close the connection without a response; ``after=True`` first carries the request out."""
        return self.add(FaultRule(method, path, count, "drop", after=after))

    def error(
        self,
        status: int,
        code: str,
        message: str,
        count: int = 1,
        method: str = ".*",
        path: str = ".*",
        headers: dict[str, str] | None = None,
    ) -> FaultRule:
        """Any ARM error, e.g. 400 PrincipalNotFound for the first role assignment after an identity."""
        return self.add(FaultRule(method, path, count, "error", status, code, message, dict(headers or {})))

    def answer(self, status: int, body: object, method: str = "GET", path: str = ".*", count: int = 1000) -> FaultRule:
        """Answer matching requests with a canned body, e.g. one of the REST spec's own example responses."""
        return self.add(FaultRule(method, path, count, "answer", status, body=body))

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
        self.customizer_failure = self.validation_failure = None

    def take(self, req: Request) -> FaultRule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(req):
                    rule.hits += 1
                    return rule
        return None

    @staticmethod
    def fire_before(rule: FaultRule) -> None:
        if rule.kind == "drop" and not rule.after:
            raise DropConnection()
        if rule.kind == "error":
            raise ArmError(rule.status, rule.code, rule.message, rule.headers)

    # ---- Image Builder step faults

    def fail_customizer(
        self,
        customizer: str | None = None,
        at: str | None = None,
        exit_code: int = 1,
        stderr: tuple[str, ...] | list[str] = ("error: command failed",),
    ) -> StepFailure:
        self.customizer_failure = StepFailure(customizer, at, exit_code, tuple(stderr))
        return self.customizer_failure

    def fail_validation(
        self,
        validator: str | None = None,
        at: str | None = None,
        exit_code: int = 1,
        stderr: tuple[str, ...] | list[str] = ("validation failed",),
    ) -> StepFailure:
        self.validation_failure = StepFailure(validator, at, exit_code, tuple(stderr))
        return self.validation_failure
