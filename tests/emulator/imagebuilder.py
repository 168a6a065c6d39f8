"""Azure VM Image Builder's rules: immutable templates, create-time checks, runs, logs, distribution.

A run moves through the sub-states Queued → Building → Customizing → [Optimizing] → [Validating] →
Distributing and ends Succeeded / Failed / Canceled. It advances only when somebody looks (a GET of the
template or of the run's operation): by default one sub-state per ``ticks_per_phase`` looks, or, with
``seconds_per_phase`` set, by elapsed time. Nothing runs in the background, so a test that stops looking
(a killed CLI) finds the build where it left it. ``hold`` freezes runs.

Each rule cites its source here and in README.md ("what is emulated"); what has no source is marked
"guess". The pages cited most:
  TROUBLESHOOT = https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-troubleshoot
  JSON = https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-json
  SWAGGER = tests/data/rest-api-specs/imagebuilder/2025-10-01/imagebuilder.json
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import ids, packerlog
from .handlers import TypeHandler, not_found
from .lro import Operation, now_iso
from .store import Resource
from .wire import ArmError, Request, Response, new_guid

if TYPE_CHECKING:
    from .app import ArmEmulator

TEMPLATES = "Microsoft.VirtualMachineImages/imageTemplates"
RUN_OUTPUTS = "Microsoft.VirtualMachineImages/imageTemplates/runOutputs"
NETWORK_ROLE_ACTIONS = (
    "Microsoft.Network/virtualNetworks/read",
    "Microsoft.Network/virtualNetworks/subnets/join/action",
)
ACI_DELEGATION = "Microsoft.ContainerInstance/containerGroups"
# Properties the client may change with PATCH (everything else is immutable).
PATCHABLE = {"identity", "tags", "properties"}
PATCHABLE_PROPERTIES = {"distribute", "vmProfile"}
READ_ONLY_PROPERTIES = (
    "provisioningState",
    "provisioningError",
    "lastRunStatus",
    "exactStagingResourceGroup",
)
IMMUTABLE_MESSAGE = (
    "Update/Upgrade of image templates is currently not supported. Please change the name of the "
    "template you are submitting. For more information, see https://aka.ms/azvmimagebuilder."
)
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
# The build container: TROUBLESHOOT#access-live-logs-during-image-build names it
# `vmimagebuilder-build-container-**********`; the suffix's form and the container's name are guesses.
BUILD_CONTAINER_PREFIX = "vmimagebuilder-build-container-"
BUILD_CONTAINER_NAME = "packer"
CONTAINER_GROUPS = "Microsoft.ContainerInstance/containerGroups"
TMPL_REF = (
    "Please review http://aka.ms/azvmimagebuildertmplref for details on fields requirements in the Image "
    "Builder Template."
)


def _invalid(message: str) -> ArmError:
    """A create-time validation error, as TROUBLESHOOT#troubleshoot-image-template-submission-errors shows it
    for api-version 2021-10-01 and later: ``{"error": {"code": "ValidationFailed", "message": "Validation
    failed: ..."}}``. Nothing is created."""
    return ArmError(400, "ValidationFailed", f"Validation failed: {message}")


def not_authorized(resource: str) -> str:
    """TROUBLESHOOT "Assigned managed identity isn't authorized to access a resource" (a submission error)."""
    return (
        f"Not authorized to access the resource: {resource}. Please check the user assigned identity has the "
        "correct permissions. For more details, go to https://aka.ms/azvmimagebuilderts."
    )


class SubmissionFailed(Exception):
    """The template was accepted (201, Creating) but Image Builder refused it while provisioning: the
    template stays with provisioningState Failed and provisioningError {provisioningErrorCode, message}
    (SWAGGER ProvisioningError), and must be deleted before it is submitted again (TROUBLESHOOT "Update or
    upgrade of image templates is currently not supported": "If you submit an image configuration template
    and the submission fails, a failed template artifact still exists. Delete the failed template.").
    ``code`` is one of SWAGGER's ProvisioningErrorCode values."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _auth_message(client: str, principal: str, action: str, scope: str) -> str:
    return (
        f"The client '{client}' with object id '{principal}' does not have authorization to perform action "
        f"'{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please "
        "refresh your credentials."
    )


def spec_of(body: dict[str, Any]) -> dict[str, Any]:
    """What the client controls, for comparing two PUTs."""
    spec = {k: copy.deepcopy(v) for k, v in body.items() if k not in ("id", "name", "type", "systemData")}
    spec["location"] = str(spec.get("location", "")).replace(" ", "").lower()
    props = spec.get("properties") or {}
    for key in READ_ONLY_PROPERTIES:
        props.pop(key, None)
    (props.get("source") or {}).pop("exactVersion", None)
    spec.setdefault("tags", {})
    spec["tags"] = spec["tags"] or {}
    return spec


@dataclass
class BuildRun:
    id: str
    template_id: str
    phases: list[str]
    op: Operation | None = None
    index: int = 0
    ticks: int = 0
    started: float = field(default_factory=lambda: time.monotonic())
    start_time: str = field(default_factory=now_iso)
    end_time: str | None = None
    state: str = "Running"  # runState
    message: str = ""
    cancel_requested: bool = False
    # customization.log planned for this run; ``live``: what the build container has printed so far
    custom_log: packerlog.StepsLog | None = None
    live: list[str] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)
    validation_lines: list[str] | None = None  # validation.log, written with the others at the end
    account: str | None = None  # staging storage account name
    build_vm: str | None = None  # the temporary VM in the staging group
    container_group: str | None = None  # the build container instance in the staging group
    validation_failed: bool = False

    @property
    def sub_state(self) -> str:
        return self.phases[min(self.index, len(self.phases) - 1)]

    @property
    def terminal(self) -> bool:
        return self.state in ("Succeeded", "Failed", "Canceled", "PartiallySucceeded")

    def status(self) -> dict[str, Any]:
        out = {
            "startTime": self.start_time,
            "runState": self.state,
            "runSubState": self.sub_state,
            "message": self.message,
        }
        if self.end_time:
            out["endTime"] = self.end_time
        return out


class ImageBuilder:
    """Run engine and configuration; ``arm.imagebuilder``."""

    def __init__(self, arm: ArmEmulator) -> None:
        self.arm = arm
        self.ticks_per_phase = 1
        self.seconds_per_phase: float | None = None
        self.hold = False
        self.customizer_output: packerlog.StepOutput = packerlog.default_output
        self.validator_output: packerlog.StepOutput = packerlog.default_output
        self.runs: dict[str, BuildRun] = {}  # lower-case template id -> latest run

    # ---- helpers for tests

    def run_of(self, template_id: str) -> BuildRun | None:
        return self.runs.get(template_id.lower())

    def finish(self, template_id: str) -> BuildRun:
        """Drive a run to its end without anybody polling."""
        run = self.runs[template_id.lower()]
        while not run.terminal:
            self.observe(run, force=True)
        return run

    def refuse_if_running_inside(self, scope: str) -> None:
        for run in self.runs.values():
            if not run.terminal and ids.contains(scope, run.template_id):
                raise ArmError(
                    409,
                    "OperationNotAllowed",
                    f"The image template '{ids.name_of(run.template_id)}' is running; "
                    "cancel the build before deleting its resource group.",
                )

    def allowed(self, principal: str, scope: str, action: str) -> bool:
        """Image Builder's view of its identity's permissions: new assignments only once propagated."""
        return self.arm.rbac.allowed(principal, scope, action, rp=True)

    # ---- progression

    def observe(self, run: BuildRun, force: bool = False) -> None:
        if run.terminal or (self.hold and not force):
            return
        if run.cancel_requested:
            self._end(run, "Canceled", "")
            return
        run.ticks += 1
        if force:
            target = run.index + 1
        elif self.seconds_per_phase:
            target = int((time.monotonic() - run.started) / self.seconds_per_phase)
        else:
            target = run.ticks // max(1, self.ticks_per_phase)
        while run.index < target and not run.terminal:
            self._leave(run, run.phases[run.index])
            if run.terminal:
                return
            run.index += 1
            if run.index >= len(run.phases):
                return
            self._enter(run, run.phases[run.index])
        if not run.terminal and run.sub_state == "Customizing":
            self._grow_log(run)

    def _template(self, run: BuildRun) -> Resource:
        res = self.arm.store.get(run.template_id)
        assert res is not None
        return res

    def _enter(self, run: BuildRun, phase: str) -> None:
        tpl = self._template(run)
        if phase == "Building":
            # Every build runs Packer in a container instance, whatever the network topology
            # (TROUBLESHOOT#prerequisites: "Each image build might deploy up to one temporary Azure
            # Container Instances resource"); its provider unregistered fails the build with the text of
            # TROUBLESHOOT "Unregistered Azure Container Instances provider".
            if self.arm.providers.state("Microsoft.ContainerInstance") != "Registered":
                self._end(run, "Failed", "Azure Container Instances provider not registered for your subscription.")
                return
            run.account = self._ensure_staging_storage(tpl)
            staging = tpl.meta.get("staging_rg")
            if staging and self.arm.store.get(staging):
                run.container_group = self._put_staging(
                    staging,
                    CONTAINER_GROUPS,
                    BUILD_CONTAINER_PREFIX + run.id.replace("-", "")[:10],
                    tpl,
                    {
                        "containers": [{"name": BUILD_CONTAINER_NAME, "properties": {"image": "packerizer"}}],
                        "osType": "Linux",
                    },
                )
                run.build_vm = self._put_staging(
                    staging, "Microsoft.Compute/virtualMachines", f"vm{run.id[:8]}", tpl, {}
                )
            run.preamble = packerlog.preamble(tpl.meta["spec"], run.id)
            run.live = list(run.preamble)
        elif phase == "Customizing":
            body = tpl.meta["spec"]
            customize = body.get("properties", {}).get("customize") or []
            run.custom_log = packerlog.steps(
                body, customize, self.customizer_output, self.arm.faults.customizer_failure, run.id
            )

    def _put_staging(self, staging: str, rtype: str, name: str, tpl: Resource, props: dict) -> str:
        rid = f"{staging}/providers/{rtype}/{name}"
        self.arm.store.put(
            Resource(
                rid,
                rtype,
                {
                    "id": rid,
                    "name": name,
                    "type": rtype,
                    "location": tpl.body.get("location"),
                    "properties": {"provisioningState": "Succeeded", **copy.deepcopy(props)},
                },
            )
        )
        return rid

    def _grow_log(self, run: BuildRun) -> None:
        """The build container prints the share of the customization output the time spent so far covers."""
        assert run.custom_log is not None
        lines = run.custom_log.lines
        if self.seconds_per_phase:
            done = (time.monotonic() - run.started) / self.seconds_per_phase - run.index
        else:
            per = max(1, self.ticks_per_phase)
            done = (run.ticks - run.index * per + 1) / per
        upto = math.ceil(len(lines) * min(1.0, max(0.0, done)))
        run.live = run.preamble + lines[:upto]

    def _leave(self, run: BuildRun, phase: str) -> None:
        tpl = self._template(run)
        spec = tpl.meta["spec"]
        if phase == "Customizing":
            assert run.custom_log is not None
            run.live = run.preamble + run.custom_log.lines
            if run.custom_log.error:
                run.live += packerlog.failure_tail(run.custom_log.error, run.id)
                keep = (spec.get("properties", {}).get("errorHandling") or {}).get("onCustomizerError") == "abort"
                self._end(run, "Failed", self._packer_failure(run, "customization.log"), keep_vm=keep)
        elif phase == "Validating":
            validate = spec.get("properties", {}).get("validate") or {}
            items = validate.get("inVMValidations") or []
            log = packerlog.steps(spec, items, self.validator_output, self.arm.faults.validation_failure, run.id)
            lines = packerlog.preamble(spec, run.id) + log.lines
            lines += packerlog.failure_tail(log.error, run.id) if log.error else []
            run.validation_lines = lines
            if log.error:
                run.validation_failed = True
                if not validate.get("continueDistributeOnFailure"):
                    keep = (spec["properties"].get("errorHandling") or {}).get("onValidationError") == "abort"
                    self._end(run, "Failed", self._packer_failure(run, "validation.log"), keep_vm=keep)
        elif phase == "Distributing":
            failure = self._distribute(run, tpl)
            if failure:
                self._end(run, "Failed", failure)
                return
            run.live += packerlog.success_tail(spec, run.id)
            if run.validation_failed:
                self._end(
                    run,
                    "Failed",
                    "Validation failed, the image was distributed because "
                    "continueDistributeOnFailure is set. " + self._log_hint(run, "validation.log"),
                )
            else:
                self._end(run, "Succeeded", "")

    def _end(self, run: BuildRun, state: str, message: str, keep_vm: bool = False) -> None:
        """The run ends: its logs reach packerlogs now, not before (TROUBLESHOOT "Download the customization
        and/or validation log after image build": "After the image build finishes, the customization and
        validation logs are stored in a container within the storage account in the staging resource
        group"); the build container goes (it is temporary, TROUBLESHOOT#prerequisites)."""
        run.state, run.message, run.end_time = state, message, now_iso()
        if run.live:
            self._put_blob(run, "customization.log", run.live)
        if run.validation_lines is not None:
            self._put_blob(run, "validation.log", run.validation_lines)
        if run.container_group:
            self.arm.store.delete(run.container_group)
        if run.build_vm and not keep_vm:
            self.arm.store.delete(run.build_vm)

    # ---- logs

    def container_logs(self, group_id: str) -> list[str] | None:
        """What the build container of a running build has printed, or None if no run owns the group."""
        for run in self.runs.values():
            if run.container_group and ids.same(run.container_group, group_id):
                return list(run.live)  # reading it does not advance the build (a GET of the template does)
        return None

    def container_logs_response(self, group_id: str, container: str, req: Request) -> Response:
        """Containers - List Logs (https://learn.microsoft.com/rest/api/container-instances/containers/list-logs):
        ``{"content": "<log>"}``, the last ``tail`` lines when asked."""
        group = self.arm.store.get(group_id)
        names = [c.get("name") for c in (group.properties.get("containers") or [])] if group else []
        if group is None or container not in names:
            raise not_found(f"{group_id}/containers/{container}", "Microsoft.ContainerInstance/containerGroups")
        lines = self.container_logs(group.id) or []
        tail = req.q("tail")
        if tail and tail.isdigit():
            lines = lines[-int(tail) :] if int(tail) else []
        return Response(200, {"content": "".join(line + "\n" for line in lines)})

    def _log_url(self, run: BuildRun, blob: str) -> str:
        return f"{self.arm.blobs.endpoint(run.account)}packerlogs/{run.id}/{blob}" if run.account else blob

    def _log_hint(self, run: BuildRun, blob: str) -> str:
        # TROUBLESHOOT "Packer build command fails": the message ends with the log's URL and the operation.
        return (
            f"Image Build log location: {self._log_url(run, blob)}. OperationId: {run.op.id if run.op else ''}. "
            "Use this operationId to search packer logs."
        )

    def _packer_failure(self, run: BuildRun, blob: str) -> str:
        return (
            "Failed while waiting for packerizer: Microservice has failed: Failed while processing request: Error "
            "when executing packerizer: Packer build command has failed: exit status 1. During the image build, "
            "a failure has occurred, please review the build log to identify which build/customization step "
            "failed. For more troubleshooting steps go to https://aka.ms/azvmimagebuilderts. "
            + self._log_hint(run, blob)
        )

    def _put_blob(self, run: BuildRun, blob: str, lines: list[str]) -> None:
        if run.account:
            self.arm.blobs.put(run.account, "packerlogs", f"{run.id}/{blob}", ("\n".join(lines) + "\n").encode())

    # ---- staging resources

    def _ensure_staging_storage(self, tpl: Resource) -> str | None:
        """The staging storage account, made with the template (TROUBLESHOOT "Customization log": "VM Image
        Builder creates the storage account in the temporary resource group when you create an image
        template artifact")."""
        staging = tpl.meta.get("staging_rg")
        if not staging or self.arm.store.get(staging) is None:
            return None
        accounts = self.arm.store.of_type("Microsoft.Storage/storageAccounts", staging)
        if accounts:
            return accounts[0].name
        name = self.arm.blobs.allocate_account()
        rid = f"{staging}/providers/Microsoft.Storage/storageAccounts/{name}"
        body = {
            "location": tpl.body.get("location"),
            "sku": {"name": "Standard_LRS"},
            "kind": "StorageV2",
            "tags": dict(tpl.meta["spec"].get("properties", {}).get("managedResourceTags") or {}),
            "properties": {"allowBlobPublicAccess": False},
        }
        self.arm.put_internal(rid, body)
        return name

    def create_staging_group(self, tpl: Resource, principal: str | None) -> None:
        """At template creation (JSON#template-creation-scenarios): no group given, or a given group that does
        not exist: Image Builder creates it, tags it createdBy / imageTemplateName /
        imageTemplateResourceGroupName, and gives the template's identity Contributor there. A given group
        that exists gets the tags usedBy / imageTemplateName / imageTemplateResourceGroupName added."""
        props = tpl.meta["spec"].get("properties") or {}
        sub, rg = ids.resource_group_of(tpl.id) or (self.arm.subscription_id, "")
        given = props.get("stagingResourceGroup")
        if given:
            staging, created = given, self.arm.store.get(given) is None
        else:
            name = f"IT_{rg}_{tpl.name}_{new_guid()}"[:90]
            staging, created = ids.rg_id(sub, name), True
        if created:
            self.arm.put_internal(
                staging,
                {
                    "location": tpl.body.get("location"),
                    "tags": {
                        # SW managedResourceTags: "applied to the resource group and/or resources created by
                        # the service" (the storage account gets them too: _ensure_staging_storage).
                        **(props.get("managedResourceTags") or {}),
                        "createdBy": "AzureVMImageBuilder",
                        "imageTemplateName": tpl.name,
                        "imageTemplateResourceGroupName": rg,
                    },
                },
            )
            staging = self.arm.store.get(staging).id
            if principal:
                self.arm.assign_role(principal, staging, CONTRIBUTOR, "ServicePrincipal")
        else:
            group = self.arm.store.get(staging)
            staging = group.id
            group.body["tags"] = {
                **(group.body.get("tags") or {}),
                "usedBy": "AzureVMImageBuilder",
                "imageTemplateName": tpl.name,
                "imageTemplateResourceGroupName": rg,
            }
        tpl.meta["staging_rg"], tpl.meta["staging_created"] = staging, created
        tpl.properties["exactStagingResourceGroup"] = staging
        self._ensure_staging_storage(tpl)

    def delete_staging(self, tpl: Resource) -> None:
        """JSON#template-deletion: a group Image Builder created goes with the template; in a given group
        that existed, the resources Image Builder made go and the group stays. Dropping the usedBy tags
        then is a guess (they mark the association, which ends with the template)."""
        staging = tpl.meta.get("staging_rg")
        rg = self.arm.store.get(staging) if staging else None
        if rg is None:
            return
        if tpl.meta.get("staging_created"):
            self.arm.remove(rg)
        else:
            for res in list(self.arm.store):
                if (
                    ids.contains(rg.id, res.id)
                    and not ids.same(res.id, rg.id)
                    and res.type != "Microsoft.Authorization/roleAssignments"
                ):
                    self.arm.remove(res)
            tags = rg.body.get("tags") or {}
            for key in ("usedBy", "imageTemplateName", "imageTemplateResourceGroupName"):
                tags.pop(key, None)

    # ---- distribution

    def _identity(self, tpl: Resource) -> tuple[str, str, str] | None:
        """(identity id, principalId, clientId) of the template's identity, if it still exists."""
        uai = (tpl.meta["spec"].get("identity") or {}).get("userAssignedIdentities") or {}
        for rid in uai:
            res = self.arm.store.get(rid)
            if res is not None:
                return res.id, res.properties["principalId"], res.properties["clientId"]
        return None

    def _distribute(self, run: BuildRun, tpl: Resource) -> str | None:
        spec = tpl.meta["spec"]
        ident = self._identity(tpl)
        if ident is None:
            return "Distribution failed: the template's identity no longer exists."
        _, principal, client = ident
        outputs: list[tuple[str, dict[str, Any]]] = []
        targets = spec["properties"].get("distribute") or []
        for i, target in enumerate(targets):
            kind, name = target.get("type"), target.get("runOutputName")
            try:
                if kind == "ManagedImage":
                    outputs.append((name, self._distribute_managed(tpl, target, principal, client)))
                elif kind == "SharedImage":
                    outputs.append((name, self._distribute_gallery(tpl, target, principal, client)))
                elif kind == "VHD":
                    # Without a uri, AIB leaves the VHD in the staging account (not uploaded here).
                    base = self.arm.blobs.endpoint(run.account) if run.account else ""
                    outputs.append((name, {"artifactUri": target.get("uri") or f"{base}vhds/{run.id}.vhd"}))
            except ArmError as exc:
                # The documented shape: TROUBLESHOOT "Error waiting on Azure Compute Gallery" ("Deployment
                # failed. Correlation ID: …. Failed in distributing 1 images out of total 1: {[Error 0]
                # [Distribute 0] Error publishing MDI to Azure Compute Gallery:<id>, Location:eastus. Error:
                # …}"); a managed image's as in github.com/danielsollondon/azvmimagebuilder/issues/20
                # ("Error publishing VHD to managed image:<id>, Location:WestUS2. Error: … StatusCode=403 --
                # Original Error: Code="AuthorizationFailed" Message="The client …"").
                where = "Azure Compute Gallery" if kind == "SharedImage" else "managed image"
                what = "MDI" if kind == "SharedImage" else "VHD"
                target_id = target.get("galleryImageId") or target.get("imageId") or target.get("uri") or name
                location = target.get("location") or tpl.body.get("location")
                return (
                    f"Deployment failed. Correlation ID: {new_guid()}. Failed in distributing 1 images out of "
                    f"total {len(targets)}: {{[Error 0] [Distribute {i}] Error publishing {what} to {where}:"
                    f"{target_id}, Location:{location}. Error: StatusCode={exc.status} -- Original Error: "
                    f'Code="{exc.code}" Message="{exc.message}"}}'
                )
        for child in self.arm.store.children(tpl.id, RUN_OUTPUTS):
            self.arm.store.delete(child.id)
        for name, props in outputs:
            rid = f"{tpl.id}/runOutputs/{name}"
            self.arm.store.put(
                Resource(
                    rid,
                    RUN_OUTPUTS,
                    {
                        "id": rid,
                        "name": name,
                        "type": RUN_OUTPUTS,
                        "properties": {**props, "provisioningState": "Succeeded"},
                    },
                )
            )
        return None

    def _require_actions(self, principal: str, client: str, scope: str, actions: list[str]) -> None:
        for action in actions:
            if not self.allowed(principal, scope, action):
                raise ArmError(403, "AuthorizationFailed", _auth_message(client, principal, action, scope))

    def _distribute_managed(self, tpl: Resource, target: dict, principal: str, client: str) -> dict:
        image_id = target["imageId"]
        rg = ids.resource_group_of(image_id)
        if rg is None or self.arm.store.get(ids.rg_id(*rg)) is None:
            raise ArmError(
                404,
                "ResourceGroupNotFound",
                f"Resource group '{rg[1] if rg else image_id}' could not be found.",
            )
        needed = ["Microsoft.Compute/images/write", "Microsoft.Compute/images/read"]
        if self.arm.store.get(image_id) is not None:
            needed.append("Microsoft.Compute/images/delete")  # AIB replaces an existing image
        self._require_actions(principal, client, image_id, needed)
        spec = tpl.meta["spec"]
        disk = (spec["properties"].get("vmProfile") or {}).get("osDiskSizeGB") or 30
        self.arm.put_internal(
            image_id,
            {
                "location": target.get("location") or tpl.body.get("location"),
                "tags": dict(target.get("artifactTags") or {}),
                "properties": {
                    "hyperVGeneration": "V2",
                    "storageProfile": {
                        "osDisk": {
                            "osType": "Linux",
                            "osState": "Generalized",
                            "diskSizeGB": disk,
                            "storageAccountType": "Standard_LRS",
                        },
                        "dataDisks": [],
                    },
                },
            },
        )
        return {"artifactId": self.arm.store.get(image_id).id}

    def _distribute_gallery(self, tpl: Resource, target: dict, principal: str, client: str) -> dict:
        gid = target["galleryImageId"]
        parts = ids.parse(gid)
        if parts and len(parts.types) == 3:  # explicit .../versions/x.y.z
            image_id, version = ids.parent_of(gid), parts.names[-1]
        else:
            image_id, version = gid, None
        image = self.arm.store.get(image_id)
        if image is None:
            raise not_found(image_id, "Microsoft.Compute/galleries/images")
        gallery_id = ids.parent_of(image_id)
        self._require_actions(principal, client, gallery_id, ["Microsoft.Compute/galleries/read"])
        self._require_actions(
            principal,
            client,
            image_id,
            [
                "Microsoft.Compute/galleries/images/read",
                "Microsoft.Compute/galleries/images/versions/read",
                "Microsoft.Compute/galleries/images/versions/write",
            ],
        )
        existing = [
            ids.name_of(v.id) for v in self.arm.store.children(image.id, "Microsoft.Compute/galleries/images/versions")
        ]
        if version is None:
            scheme = target.get("versioning") or {}
            major = scheme.get("major", -1) if scheme.get("scheme", "Latest") == "Latest" else -1
            nums = [tuple(int(x) for x in v.split(".")) for v in existing if v.count(".") == 2]
            nums = [n for n in nums if major in (-1, None) or n[0] == major]
            if nums:
                a, b, c = max(nums)
                version = f"{a}.{b}.{c + 1}"
            else:
                version = f"{max(major, 0) if major not in (None, -1) else 1}.0.0"
        elif version in existing:
            raise ArmError(409, "Conflict", f"Gallery image version '{version}' already exists.")
        vid = f"{image.id}/versions/{version}"
        regions = (
            target.get("targetRegions")
            or [{"name": r} for r in target.get("replicationRegions") or []]
            or [{"name": tpl.body.get("location")}]
        )
        # AIB's replicaCount is the gallery version's regionalReplicaCount (default 1).
        regions = [
            {
                "name": r.get("name"),
                "regionalReplicaCount": r.get("replicaCount", 1),
                "storageAccountType": r.get("storageAccountType", "Standard_LRS"),
            }
            for r in regions
        ]
        self.arm.put_internal(
            vid,
            {
                "location": image.body.get("location"),
                "tags": dict(target.get("artifactTags") or {}),
                "properties": {
                    "publishingProfile": {
                        "targetRegions": regions,
                        "excludeFromLatest": bool(target.get("excludeFromLatest")),
                    }
                },
            },
        )
        return {"artifactId": self.arm.store.get(vid).id}


class ImageTemplateHandler(TypeHandler):
    type = TEMPLATES
    lro_put = lro_delete = True
    patch_status = 202
    actions = {"run": "run", "cancel": "cancel"}

    # ---- create / update

    def put(self, arm, rid, body, req):
        existing = arm.store.get(rid)
        if existing is not None:
            # A failed submission leaves a Failed template that must be deleted first, whatever is sent
            # (TROUBLESHOOT "Update or upgrade of image templates is currently not supported").
            if existing.properties.get("provisioningState") == "Failed":
                raise ArmError(409, "Conflict", IMMUTABLE_MESSAGE)
            if spec_of(body) != spec_of(existing.meta["spec"]):
                raise ArmError(409, "Conflict", IMMUTABLE_MESSAGE)
            # The same template again: nothing changes (its run history stays).
            op = self.start_op(arm, existing.id, arm.ops.countdown(arm.config.lro_polls, lambda: None))
            return Response(200, self.render(arm, existing), arm.ops.headers(op, req.base_url))
        return super().put(arm, rid, body, req)

    def validate(self, arm, rid, body, existing, req):
        """What the request alone shows to be wrong: answered at once with ValidationFailed (400), nothing
        created. Which checks Azure makes at once and which while provisioning is not documented; here the
        ones that read only the request (and the source, whose documented example is a ValidationFailed)
        are immediate, those that read other resources or permissions fail the submission (a guess)."""
        props = body.get("properties") or {}
        self._check_identity_shape(body)
        self._check_source(arm, props.get("source") or {})
        vnet_cfg = (props.get("vmProfile") or {}).get("vnetConfig") or {}
        subnet_id, aci_id = vnet_cfg.get("subnetId"), vnet_cfg.get("containerInstanceSubnetId")
        if aci_id and not subnet_id:
            raise _invalid(
                "'ImageTemplate.properties.vmProfile.vnetConfig': 'containerInstanceSubnetId' requires "
                f"'subnetId'. {TMPL_REF}"
            )
        if aci_id and vnet_cfg.get("proxyVmSize"):
            raise _invalid(
                "'ImageTemplate.properties.vmProfile.vnetConfig': 'proxyVmSize' must not be set together "
                f"with 'containerInstanceSubnetId'. {TMPL_REF}"
            )
        if aci_id and (
            ids.same(aci_id, subnet_id)
            or not ids.same(aci_id.rsplit("/subnets/", 1)[0], subnet_id.rsplit("/subnets/", 1)[0])
        ):
            raise _invalid(
                "'ImageTemplate.properties.vmProfile.vnetConfig': 'containerInstanceSubnetId' must be a "
                f"different subnet of the same virtual network as 'subnetId'. {TMPL_REF}"
            )
        given = props.get("stagingResourceGroup")
        if given:
            rg = ids.resource_group_of(given)
            if rg is None or not ids.same(given, ids.rg_id(*rg)):
                raise _invalid(
                    f"'ImageTemplate.properties.stagingResourceGroup': Field 'stagingResourceGroup' has a "
                    f"bad value: '{given}'. {TMPL_REF}"
                )

    def _check_identity_shape(self, body) -> None:
        identity = body.get("identity") or {}
        uai = identity.get("userAssignedIdentities") or {}
        if identity.get("type") != "UserAssigned" or len(uai) != 1:
            raise _invalid(
                "'ImageTemplate.identity': the template needs exactly one user-assigned identity "
                f"(identity.type 'UserAssigned'). {TMPL_REF}"
            )

    def on_provisioned(self, arm, res):
        """The submission's checks that read other resources; failing one leaves a Failed template."""
        body = res.meta["spec"]
        try:
            try:
                principal = self._submission_checks(arm, res.id, body)
            finally:
                arm.rbac.checked()  # one round of Image Builder's permission checks went by
        except SubmissionFailed as exc:
            res.properties["provisioningError"] = {"provisioningErrorCode": exc.code, "message": exc.message}
            return {"code": exc.code, "message": exc.message}
        res.properties.pop("provisioningError", None)
        if "staging_rg" not in res.meta:  # made at template creation (JSON#template-creation-scenarios)
            arm.imagebuilder.create_staging_group(res, principal)
        return None

    def _submission_checks(self, arm, rid, body) -> str:
        props = body.get("properties") or {}
        ident = self._check_identity(arm, body)
        principal = ident.properties["principalId"]
        location = str(body.get("location", "")).replace(" ", "").lower()
        self._check_network(arm, props, location, principal)
        self._check_build_vm_identities(arm, props, principal)
        self._check_staging(arm, rid, props, location, principal)
        self._check_distribute(arm, props, principal)
        return principal

    def _check_identity(self, arm, body) -> Resource:
        (iid,) = (body.get("identity") or {}).get("userAssignedIdentities") or {}
        res = arm.store.get(iid)
        if res is None or res.type != "Microsoft.ManagedIdentity/userAssignedIdentities":
            # TROUBLESHOOT "Assigned managed identity on an image template can't be used" (its text).
            raise SubmissionFailed(
                "Other",
                "The assigned managed identity cannot be used. Please remove the existing "
                "one and re-assign a new identity. For more troubleshooting steps go to "
                "https://aka.ms/azvmimagebuilderts.",
            )
        return res

    def _check_source(self, arm, source) -> None:
        # TROUBLESHOOT#troubleshoot-image-template-submission-errors: "Validation failed:
        # 'ImageTemplate.properties.source': Field 'imageId' has a bad value: '…'. Please review …".
        kind = source.get("type")
        if kind == "ManagedImage" and arm.store.get(source.get("imageId", "")) is None:
            raise _invalid(
                f"'ImageTemplate.properties.source': Field 'imageId' has a bad value: "
                f"'{source.get('imageId')}'. {TMPL_REF}"
            )
        if kind == "SharedImageVersion":
            vid = source.get("imageVersionId", "")
            image = ids.parent_of(vid) if vid.lower().endswith("/versions/latest") else None
            found = (
                arm.store.children(image, "Microsoft.Compute/galleries/images/versions")
                if image
                else ([arm.store.get(vid)] if arm.store.get(vid) else [])
            )
            if not found:
                raise _invalid(
                    f"'ImageTemplate.properties.source': Field 'imageVersionId' has a bad value: '{vid}'. {TMPL_REF}"
                )

    def _check_network(self, arm, props, location, principal) -> None:
        """image-builder-networking / image-builder-vnet: the subnet exists, its VNet is in the template's
        region, the identity may read the VNet and join the subnets
        (https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-permissions-cli#permission-to-customize-images-on-your-virtual-networks);
        isolated builds: the container subnet is delegated to ACI
        (https://learn.microsoft.com/azure/virtual-machines/security-isolated-image-builds-image-builder);
        proxy model: privateLinkServiceNetworkPolicies disabled
        (https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-networking#deploy-using-an-existing-vnet).
        The messages of the first three are guesses; a missing permission answers TROUBLESHOOT's "Not
        authorized to access the resource" (its provisioningErrorCode "Other" is a guess)."""
        vnet_cfg = (props.get("vmProfile") or {}).get("vnetConfig") or {}
        subnet_id, aci_id = vnet_cfg.get("subnetId"), vnet_cfg.get("containerInstanceSubnetId")
        if not subnet_id:
            return
        subnet = arm.store.get(subnet_id)
        if subnet is None or subnet.type != "Microsoft.Network/virtualNetworks/subnets":
            raise SubmissionFailed("Other", f"'vnetConfig.subnetId': subnet '{subnet_id}' was not found.")
        vnet = arm.store.get(ids.parent_of(subnet.id))
        if vnet is not None and vnet.body.get("location") != location:
            raise SubmissionFailed(
                "Other",
                f"'vnetConfig.subnetId': the virtual network '{vnet.name}' is in "
                f"'{vnet.body.get('location')}', but the template is in '{location}'; they must match.",
            )
        checks = [
            (vnet.id if vnet else subnet.id, NETWORK_ROLE_ACTIONS[0]),
            (subnet.id, NETWORK_ROLE_ACTIONS[1]),
        ]
        if aci_id:
            aci = arm.store.get(aci_id)
            if aci is None or aci.type != "Microsoft.Network/virtualNetworks/subnets":
                raise SubmissionFailed(
                    "Other", f"'vnetConfig.containerInstanceSubnetId': subnet '{aci_id}' was not found."
                )
            delegations = [d.get("properties", {}).get("serviceName") for d in aci.properties.get("delegations") or []]
            if ACI_DELEGATION not in delegations:
                raise SubmissionFailed(
                    "Other",
                    f"'vnetConfig.containerInstanceSubnetId': subnet '{aci.name}' must be delegated to "
                    f"'{ACI_DELEGATION}'.",
                )
            checks.append((aci.id, NETWORK_ROLE_ACTIONS[1]))
        elif subnet.properties.get("privateLinkServiceNetworkPolicies", "Enabled") != "Disabled":
            raise SubmissionFailed(
                "Other",
                f"'vnetConfig.subnetId': subnet '{subnet.name}' must have "
                "'privateLinkServiceNetworkPolicies' set to 'Disabled' for the proxy VM's private link.",
            )
        for scope, action in checks:
            if not arm.imagebuilder.allowed(principal, scope, action):
                raise SubmissionFailed("Other", not_authorized(scope))

    def _check_build_vm_identities(self, arm, props, principal) -> None:
        for iid in (props.get("vmProfile") or {}).get("userAssignedIdentities") or []:
            action = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
            if arm.store.get(iid) is None or not arm.imagebuilder.allowed(principal, iid, action):
                raise SubmissionFailed("Other", not_authorized(iid))

    def _check_staging(self, arm, rid, props, location, principal) -> None:
        """JSON#properties-stagingresourcegroup: a given group that exists "cannot be associated with another
        image template, must be empty (no resources inside), in the same region as the image template, and
        have either "Contributor" or "Owner" RBAC applied to the identity assigned to the Azure Image Builder
        image template resource"; "If any of the aforementioned requirements aren't met, an error is thrown"
        (its code BadStagingResourceGroup: SWAGGER ProvisioningErrorCode; the messages are guesses). A group
        that does not exist is created (create_staging_group)."""
        given = props.get("stagingResourceGroup")
        if not given:
            return
        res = arm.store.get(given)
        if res is None:
            return
        name = res.name
        for other in arm.store.of_type(TEMPLATES):
            if not ids.same(other.id, rid) and ids.same(other.meta.get("staging_rg") or "", given):
                raise SubmissionFailed(
                    "BadStagingResourceGroup",
                    f"The staging resource group '{name}' is already "
                    f"associated with the image template '{other.name}'.",
                )
        inside = [
            r
            for r in arm.store
            if ids.contains(given, r.id)
            and not ids.same(r.id, given)
            and r.type != "Microsoft.Authorization/roleAssignments"
        ]
        if inside:
            raise SubmissionFailed(
                "BadStagingResourceGroup",
                f"The staging resource group '{name}' is not empty: it holds {inside[0].type} '{inside[0].name}'.",
            )
        if str(res.body.get("location", "")).replace(" ", "").lower() != location:
            raise SubmissionFailed(
                "BadStagingResourceGroup",
                f"The staging resource group '{name}' is in "
                f"'{res.body.get('location')}', but the image template is in '{location}'.",
            )
        if not arm.rbac.holds_role(principal, given, (CONTRIBUTOR, OWNER), rp=True):
            raise SubmissionFailed(
                "BadStagingResourceGroup",
                f"The identity of the image template needs the "
                f"'Contributor' or 'Owner' role on the staging resource group '{name}'. " + not_authorized(given),
            )

    def _check_distribute(self, arm, props, principal) -> None:
        """A distribution target the identity may not read fails the submission with TROUBLESHOOT's "Not
        authorized to access the resource" (github.com/danielsollondon/azvmimagebuilder/issues/29: a gallery
        target, provisioningErrorCode BadSharedImageDistribute, at template creation). That it reads the
        target with */read is a guess; "Other" for a managed image is a guess."""
        for target in props.get("distribute") or []:
            if target.get("type") == "ManagedImage" and target.get("imageId"):
                scope, action, code = target["imageId"], "Microsoft.Compute/images/read", "Other"
            elif target.get("type") == "SharedImage" and target.get("galleryImageId"):
                gid = target["galleryImageId"]
                parts = ids.parse(gid)
                scope = ids.parent_of(gid) if parts and len(parts.types) == 3 else gid
                action, code = "Microsoft.Compute/galleries/images/read", "BadSharedImageDistribute"
            else:
                continue
            if not arm.imagebuilder.allowed(principal, scope, action):
                raise SubmissionFailed(code, not_authorized(scope))

    # ---- PATCH: only identity, tags, distribute and vmProfile

    def patch_check(self, arm, res, body):
        self._refuse_while_running(arm, res, "update")
        bad = [k for k in body if k not in PATCHABLE]
        bad += [f"properties.{k}" for k in (body.get("properties") or {}) if k not in PATCHABLE_PROPERTIES]
        if bad:
            raise ArmError(409, "Conflict", IMMUTABLE_MESSAGE + f" (not updatable: {', '.join(bad)})")

    def put_merged(self, arm, res, merged, req):
        self.validate(arm, res.id, merged, res, req)
        res.meta["spec"] = merged
        for key in ("identity", "tags"):
            if key in merged:
                res.body[key] = copy.deepcopy(merged[key])
        for key in PATCHABLE_PROPERTIES:
            if key in merged.get("properties", {}):
                res.properties[key] = copy.deepcopy(merged["properties"][key])
        return self._finish_write(arm, res, False, req, status=self.patch_status)

    # ---- read

    def render(self, arm, res):
        out = super().render(arm, res)
        run = arm.imagebuilder.run_of(res.id)
        if run is not None:
            out["properties"]["lastRunStatus"] = run.status()
        return out

    def observe(self, arm, res):
        run = arm.imagebuilder.run_of(res.id)
        if run is not None:
            arm.imagebuilder.observe(run)

    # ---- run / cancel / delete

    def _refuse_while_running(self, arm, res, what: str) -> None:
        run = arm.imagebuilder.run_of(res.id)
        if run is not None and not run.terminal:
            state = "being canceled" if run.cancel_requested else "running"
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Cannot {what} image template '{res.name}' while it is {state}. Wait for the build to "
                "finish or cancel it.",
            )

    def run(self, arm, res, req: Request) -> Response:
        if res.properties.get("provisioningState") != "Succeeded":
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Image template '{res.name}' is in provisioning state "
                f"'{res.properties.get('provisioningState')}'; it can run once it has Succeeded.",
            )
        self._refuse_while_running(arm, res, "run")
        spec = res.meta["spec"].get("properties", {})
        phases = ["Queued", "Building", "Customizing"]
        if ((spec.get("optimize") or {}).get("vmBoot") or {}).get("state") == "Enabled":
            phases.append("Optimizing")
        validate = spec.get("validate") or {}
        if validate.get("inVMValidations") or validate.get("sourceValidationOnly"):
            phases.append("Validating")
        phases.append("Distributing")
        run = BuildRun(new_guid(), res.id, phases)
        arm.imagebuilder.runs[res.id.lower()] = run
        engine = arm.imagebuilder

        def poll():
            engine.observe(run)
            if not run.terminal:
                return "InProgress", None
            if run.state == "Succeeded":
                return "Succeeded", None
            if run.state == "Canceled":
                return "Canceled", {"code": "Canceled", "message": "The build was canceled."}
            # The run LRO's error code is not documented; github.com/danielsollondon/azvmimagebuilder/issues/50
            # shows a failed run's operation with details [{code: InternalOperationError, message: …}].
            return "Failed", {"code": "InternalOperationError", "message": run.message}

        run.op = self.start_op(arm, res.id, poll)
        return Response(202, None, arm.ops.headers(run.op, req.base_url, location=True))

    def cancel(self, arm, res, req: Request) -> Response:
        run = arm.imagebuilder.run_of(res.id)
        if run is None or run.terminal:
            raise ArmError(
                409, "OperationNotAllowed", f"Image template '{res.name}' has no build in progress to cancel."
            )
        run.cancel_requested = True
        run.state = "Canceling"
        op = self.start_op(arm, res.id, arm.ops.countdown(arm.config.lro_polls, lambda: None))
        return Response(202, None, arm.ops.headers(op, req.base_url, location=True))

    def before_delete(self, arm, res):
        self._refuse_while_running(arm, res, "delete")

    def after_delete(self, arm, res):
        arm.imagebuilder.delete_staging(res)
        arm.imagebuilder.runs.pop(res.id.lower(), None)


class RunOutputHandler(TypeHandler):
    type = RUN_OUTPUTS
    requires_location = False

    def put(self, arm, rid, body, req):
        raise ArmError(405, "MethodNotAllowed", "Run outputs are read-only.")

    def delete(self, arm, rid, req):
        raise ArmError(405, "MethodNotAllowed", "Run outputs are read-only.")


ALL = [ImageTemplateHandler, RunOutputHandler]
