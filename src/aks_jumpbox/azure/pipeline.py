"""`build` from start to end: deploy → run (or attach, or skip) → watch → result → logs → JIT.

Every step is safe to repeat, so an interrupted `build` re-run picks up where it stopped: deploy
writes only what differs, a running build is attached to, a finished one is not rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from aks_jumpbox.azure.apply import Change, apply, what_if
from aks_jumpbox.azure.build import Snapshot, Template
from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.jit import image_assignment_keys, remove_image_role
from aks_jumpbox.azure.logs import WAITING, Logs, Run, live_output, reader_for, staging_group
from aks_jumpbox.core.buildlog import LogReport, StepBoard, parse_log, plan_steps, tail
from aks_jumpbox.core.plan import Plan
from aks_jumpbox.core.runs import Decision, RunStatus, decide


class Progress(Protocol):
    def deployed(self, change: Change) -> None: ...
    def decided(self, decision: Decision) -> None: ...
    def update(self, snapshot: Snapshot) -> None: ...
    def note(self, text: str) -> None: ...


@dataclass
class Options:
    force: bool = False
    wait: bool = True
    remove_image_role: bool = False
    interval: float = 15.0
    tail_lines: int = 8


@dataclass
class Outcome:
    template: str
    decision: Decision
    deployed: list[Change] = field(default_factory=list)
    run: RunStatus | None = None
    image_id: str | None = None
    logs: Logs | None = None
    report: LogReport | None = None
    image_role_removed: bool = False
    log_error: str | None = None

    @property
    def ok(self) -> bool:
        if self.decision.action == "skip":
            return True
        return self.run is not None and (self.run.succeeded or self.run.active)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "template": self.template,
            "action": self.decision.action,
            "why": self.decision.why,
            "deployed": [c.to_json() for c in self.deployed],
            "run": self.run.to_json() if self.run else None,
            "imageId": self.image_id,
            "ok": self.ok,
            "imageRoleRemoved": self.image_role_removed,
        }
        if self.report is not None:
            out["failedStep"] = self.report.failed_step
            out["reason"] = self.report.reason
            out["failedChecks"] = self.report.failed_checks
            out["relevantLines"] = self.report.relevant
        if self.logs is not None:
            out["logs"] = {
                "stagingResourceGroup": self.logs.staging_resource_group,
                "account": self.logs.account,
                "auth": self.logs.auth,
                "blobs": self.logs.blob_urls,
            }
        if self.log_error:
            out["logError"] = self.log_error
        return out


def template_of(az: Azure, plan: Plan, name: str | None = None) -> Template:
    t = plan.template
    if name is None or name == t.name:
        return Template(az, t.resource_group or "", t.name, t.id)
    return Template(az, t.resource_group or "", name, t.id.rsplit("/", 1)[0] + "/" + name)


class LiveTail:
    """Feeds Template.watch the last lines the running build printed; never fails the watch.

    Live output is in the build container, not in packerlogs, which gets the logs only when the build
    ends (azure/logs.py): so this reads the current run's container's logs, and says what it is waiting
    for when it cannot. `status` tells where the lines came from, or why there are none; `board` is the
    checklist of the script's steps seen so far (planned: the steps the plan's provision.sh has).
    """

    def __init__(self, az: Azure, lines: int, planned: tuple[str, ...] = ()) -> None:
        self.az, self.lines, self.planned = az, lines, planned
        self.group: str | None = None
        self.status: str | None = None
        self.error: str | None = None
        self.board = StepBoard(planned)
        self._run: str | None = None

    def __call__(self, template: dict[str, Any]) -> list[str] | None:
        try:
            run = RunStatus.from_template(template)
            if not run.active:
                return None
            if run.start_time != self._run:  # another run: its own checklist
                self._run, self.board = run.start_time, StepBoard(self.planned)
            if self.group is None:
                self.group = staging_group(self.az, template)
            out = live_output(self.az, self.group, run_start=run.start_time)
            self.status = out.source
            self.board.feed(out.text)
            return tail(out.text, self.lines) if out.text else []
        except Exception as exc:
            self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.status = f"{WAITING} ({self.error})"
            return None


def fetch_logs(
    az: Azure, template: Template, live: dict[str, Any] | None = None
) -> tuple[Logs | None, LogReport | None]:
    """The logs of the template's last run (never an earlier run's), and what they say failed."""
    live = live or template.require()
    reader = reader_for(az, live)
    if reader is None:
        return None, None
    last = RunStatus.from_template(live)
    logs = reader.fetch(Run(last.start_time, last.message, last.active) if last.state else None)
    if not logs.texts:
        return logs, None
    custom = parse_log(logs.texts.get("customization.log", ""))
    if custom.failed_step is None and "validation.log" in logs.texts:
        validation = parse_log(logs.texts["validation.log"])
        if validation.failed_step or validation.failed_checks:
            return logs, validation
    return logs, custom


def build(az: Azure, plan: Plan, opts: Options, progress: Progress) -> Outcome:
    template = template_of(az, plan)
    changes = what_if(az, plan)
    live = next(c.live for c in changes if c.resource.key == "template")
    before = RunStatus.from_template(live)
    image_exists = live is not None and before.succeeded and template.image_exists(plan.image_id)
    decision = decide(before, template_exists=live is not None, image_exists=image_exists, force=opts.force)
    progress.decided(decision)
    outcome = Outcome(template.name, decision, image_id=plan.image_id)

    # Nothing to build: put right any drift, but do not hand out the image-write role for nothing.
    skip = image_assignment_keys(plan) if decision.action == "skip" and opts.remove_image_role else set()
    outcome.deployed = apply(az, plan, changes, skip=skip, on_change=progress.deployed, on_note=progress.note)
    if decision.action == "skip":
        outcome.run = before
        return outcome
    if decision.action == "run":
        template.start(before)
        progress.note(f"started a build of {template.name}")
    else:
        progress.note(f"attaching to the build of {template.name} that is already running")
    if not opts.wait:
        outcome.run = template.status()
        return outcome

    tailer = LiveTail(az, opts.tail_lines, plan_steps(plan))
    outcome.run = template.watch(
        before=before if decision.action == "run" else None,
        interval=opts.interval,
        on_update=progress.update,
        log_tail=tailer,
    )
    return finish(az, plan, template, outcome, opts)


def finish(az: Azure, plan: Plan, template: Template, outcome: Outcome, opts: Options) -> Outcome:
    """After a run ended: logs on failure, the JIT role removal either way."""
    run = outcome.run
    if run is not None and not run.succeeded:
        try:
            outcome.logs, outcome.report = fetch_logs(az, template)
        except Exception as exc:
            outcome.log_error = str(exc)
    if opts.remove_image_role and template.name == plan.template.name:
        outcome.image_role_removed = remove_image_role(az, plan)
    return outcome
