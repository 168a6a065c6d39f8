"""Run, watch, inspect and cancel Image Builder builds of the plan's template.

A build lives in Azure, not in this process: `build` starts it (or finds one running) and then
only looks at it, GETting the template every few seconds. So Ctrl-C or a killed terminal detaches
without harm, `watch` re-attaches, and a dropped connection costs one missed look, not the build.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from aks_jumpbox.azure import resources as rs
from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.errors import AzureFailure, arm, from_http
from aks_jumpbox.core.buildlog import StepBoard
from aks_jumpbox.core.runs import RunStatus

# How long a watch tolerates Azure not answering at all before giving up (the build goes on).
LOST_CONTACT_LIMIT_SECONDS = 15 * 60
# How long a started run may take to show up in the template's lastRunStatus.
RUN_START_LIMIT_SECONDS = 10 * 60


@dataclass
class Snapshot:
    """What a person (or a pipeline) sees at one look."""

    template: str
    run: RunStatus
    elapsed: float | None = None  # seconds since this run started (Azure's startTime), at this look
    log_tail: list[str] = field(default_factory=list)
    note: str | None = None  # e.g. "lost contact with Azure; retrying"
    log_source: str | None = None  # where log_tail comes from, or what it waits for
    start: dt.datetime | None = None  # when the run started, so a view can count on between looks
    steps: StepBoard | None = None  # the script's steps seen so far in the run's output


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Template:
    """The plan's image template (or another by name) in Azure."""

    def __init__(self, az: Azure, resource_group: str, name: str, template_id: str) -> None:
        self.az, self.resource_group, self.name, self.id = az, resource_group, name, template_id

    @property
    def _ops(self) -> Any:
        return self.az.imagebuilder.virtual_machine_image_templates

    def read(self) -> dict[str, Any] | None:
        from azure.core.exceptions import ResourceNotFoundError

        with arm(f"reading image template {self.name}", self.id):
            try:
                return rs.to_json(self._ops.get(self.resource_group, self.name))
            except ResourceNotFoundError:
                return None

    def require(self) -> dict[str, Any]:
        live = self.read()
        if live is None:
            raise AzureFailure(
                f"reading image template {self.name}",
                "ResourceNotFound",
                "the image template does not exist",
                resource=self.id,
                hint="Deploy it first: `aks-jumpbox deploy` or `aks-jumpbox build`.",
            )
        return live

    def status(self) -> RunStatus:
        return RunStatus.from_template(self.require())

    def image_exists(self, image_id: str) -> bool:
        with arm("looking up the built image", image_id):
            return rs.exists_by_id(self.az, image_id, rs.api_version_of(image_id))

    def start(self, before: RunStatus) -> None:
        """POST .../run without waiting for the long-running operation (we watch the template instead).

        If the connection drops after ARM took the request, the run may have started anyway: look
        before trying again, so a flaky link never starts two builds.
        """
        action = f"starting a build of image template {self.name}"
        for attempt in range(3):
            try:
                self._ops.begin_run(self.resource_group, self.name, polling=False)
                return
            except (ServiceRequestError, ServiceResponseError) as exc:
                now = self._status_patiently()
                if now.active or (now.start_time and now.start_time != before.start_time):
                    return
                if attempt == 2:
                    raise AzureFailure(
                        action, "ConnectionFailed", f"no answer from Azure: {exc.message}", resource=self.id
                    ) from None
            except HttpResponseError as exc:
                raise from_http(action, exc, self.id) from None

    def _status_patiently(self, attempts: int = 6, sleep: Callable[[float], None] = time.sleep) -> RunStatus:
        """status(), riding out a connection that keeps dropping for a while."""
        for attempt in range(attempts):
            try:
                return self.status()
            except AzureFailure as exc:
                if not _transient(exc) or attempt == attempts - 1:
                    raise
                sleep(max(self.az.tuning.backoff_factor, 0.01) * 2**attempt)
        raise AssertionError("unreachable")

    def cancel(self) -> None:
        with arm(f"cancelling the build of image template {self.name}", self.id):
            self._ops.begin_cancel(self.resource_group, self.name).result()

    def delete(self) -> None:
        with arm(f"deleting image template {self.name}", self.id):
            self._ops.begin_delete(self.resource_group, self.name).result()

    def watch(
        self,
        *,
        before: RunStatus | None = None,
        interval: float = 15.0,
        on_update: Callable[[Snapshot], None] | None = None,
        log_tail: Callable[[dict[str, Any]], list[str] | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> RunStatus:
        """Look until the run ends; returns its final status.

        `before` is the status from before we started a run: until the template shows a new run, its
        old terminal state is not this run's result. Elapsed time counts from the run's startTime in
        Azure (so re-attaching 20 s into a run shows 00:20), from our own start until Azure shows it.
        """
        started = clock()

        def snapshot(run: RunStatus, tail: list[str], note: str | None, source: str | None) -> Snapshot:
            took = run.seconds(now())
            elapsed = took if took is not None else clock() - started
            return Snapshot(self.name, run, elapsed, tail, note, source, run.started, getattr(log_tail, "board", None))

        lost_since: float | None = None
        tail: list[str] = []
        source: str | None = None
        last: RunStatus | None = None
        while True:
            note = None
            try:
                live = self.require()
                lost_since = None
            except AzureFailure as exc:
                if not _transient(exc):
                    raise
                lost_since = lost_since or clock()
                if clock() - lost_since > LOST_CONTACT_LIMIT_SECONDS:
                    raise AzureFailure(
                        f"watching image template {self.name}",
                        exc.code,
                        f"no answer from Azure for {LOST_CONTACT_LIMIT_SECONDS // 60} minutes; "
                        "the build goes on in Azure",
                        resource=self.id,
                        hint="Re-attach later with `aks-jumpbox watch`.",
                    ) from None
                live, note = None, f"lost contact with Azure ({exc.code}); still trying"
            if live is not None:
                run = RunStatus.from_template(live)
                fresh = before is None or run.active or run.start_time != before.start_time
                if log_tail is not None and fresh:
                    got = log_tail(live)
                    tail = got if got is not None else tail
                    source = getattr(log_tail, "status", None) or source
                if not fresh and clock() - started > RUN_START_LIMIT_SECONDS:
                    raise AzureFailure(
                        f"watching image template {self.name}",
                        "RunNotStarted",
                        f"Image Builder accepted the run but the template still shows its previous "
                        f"run ({run.label()}) after {RUN_START_LIMIT_SECONDS // 60} minutes",
                        resource=self.id,
                        hint="Look with `aks-jumpbox status`; build again to retry.",
                    )
                last = run if fresh else RunStatus("Running", "Queued", start_time=None)
                if on_update:
                    on_update(snapshot(last, tail, note, source))
                if fresh and run.finished:
                    return run
            elif on_update and last is not None:
                on_update(snapshot(last, tail, note, source))
            sleep(interval)


def _transient(exc: AzureFailure) -> bool:
    return exc.code == "ConnectionFailed" or (exc.status or 0) in (408, 429) or (exc.status or 0) >= 500
