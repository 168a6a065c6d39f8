"""ARM's long-running-operation contract.

The initial response carries ``Azure-AsyncOperation`` (status monitor: ``{"status": InProgress|Succeeded|
Failed|Canceled, "error"}``) and, for DELETE/POST or Location-style types, ``Location`` (202 while running,
then the final answer). Every LRO response carries a small ``retry-after-ms`` and no ``Retry-After``:
azure-core reads ``Retry-After`` first and treats ``0`` as "absent", which falls back to the client's
``polling_interval`` (30 s in ImageBuilderClient), while ``retry-after-ms`` is honoured as given.
So a product run as a subprocess with default polling still polls every few milliseconds here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from .wire import ArmError, Response, new_guid

TERMINAL = ("Succeeded", "Failed", "Canceled")

# (status, error) — error is {"code", "message"} for Failed/Canceled
PollFn = Callable[[], tuple[str, dict | None]]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Operation:
    id: str
    subscription: str
    namespace: str
    location: str
    poll: PollFn
    result: Callable[[], Response] | None = None  # final answer of the Location URL
    error_status: int = 400
    status: str = "InProgress"
    error: dict | None = None
    start_time: str = field(default_factory=now_iso)
    end_time: str | None = None

    def base_path(self) -> str:
        return f"/subscriptions/{self.subscription}/providers/{self.namespace}/locations/{self.location}"

    def status_path(self) -> str:
        return f"{self.base_path()}/operations/{self.id}"

    def result_path(self) -> str:
        return f"{self.base_path()}/operationResults/{self.id}"

    def advance(self) -> None:
        if self.status in TERMINAL:
            return
        self.status, self.error = self.poll()
        if self.status in TERMINAL:
            self.end_time = now_iso()


class Operations:
    def __init__(self, poll_delay_ms: int = 10, api_version: str = "2025-10-01") -> None:
        self._ops: dict[str, Operation] = {}
        self.poll_delay_ms = poll_delay_ms
        self.api_version = api_version

    def start(
        self,
        subscription: str,
        namespace: str,
        poll: PollFn,
        *,
        location: str = "westeurope",
        result: Callable[[], Response] | None = None,
        error_status: int = 400,
    ) -> Operation:
        op = Operation(
            new_guid(), subscription, namespace, location.replace(" ", "").lower(), poll, result, error_status
        )
        self._ops[op.id.lower()] = op
        return op

    @staticmethod
    def countdown(polls: int, on_done: Callable[[], dict | None]) -> PollFn:
        """InProgress ``polls`` times, then run ``on_done`` (returns an error dict to fail)."""
        left = [polls]

        def poll() -> tuple[str, dict | None]:
            if left[0] > 0:
                left[0] -= 1
                return "InProgress", None
            error = on_done()
            return ("Failed", error) if error else ("Succeeded", None)

        return poll

    def get(self, op_id: str) -> Operation:
        op = self._ops.get(op_id.lower())
        if op is None:
            raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' could not be found.")
        return op

    # ---- headers and monitor endpoints

    def delay_headers(self) -> dict[str, str]:
        return {"retry-after-ms": str(self.poll_delay_ms)}

    def headers(self, op: Operation, base_url: str, *, location: bool = False, async_op: bool = True) -> dict[str, str]:
        h = self.delay_headers()
        q = f"?api-version={self.api_version}"
        if async_op:
            h["Azure-AsyncOperation"] = f"{base_url}{op.status_path()}{q}"
        if location:
            h["Location"] = f"{base_url}{op.result_path()}{q}"
        return h

    def status_response(self, op_id: str) -> Response:
        op = self.get(op_id)
        op.advance()
        body = {"id": op.status_path(), "name": op.id, "status": op.status, "startTime": op.start_time}
        if op.end_time:
            body["endTime"] = op.end_time
        if op.error:
            body["error"] = op.error
        return Response(200, body, {} if op.status in TERMINAL else self.delay_headers())

    def result_response(self, op_id: str, base_url: str) -> Response:
        op = self.get(op_id)
        op.advance()
        if op.status == "InProgress":
            return Response(202, None, self.headers(op, base_url, location=True, async_op=False))
        if op.status != "Succeeded":
            err = op.error or {"code": op.status, "message": f"The operation {op.status.lower()}."}
            return Response(op.error_status, {"error": err})
        return op.result() if op.result else Response(204)
