"""Azure VM Image Builder's rules: immutable templates, create-time checks, runs, logs, distribution.

A run moves through the sub-states Queued → Building → Customizing → [Optimizing] → [Validating] →
Distributing and ends Succeeded / Failed / Canceled. It advances only when somebody looks (a GET of the
template or of the run's operation): by default one sub-state per ``ticks_per_phase`` looks, or, with
``seconds_per_phase`` set, by elapsed time. Nothing runs in the background, so a test that stops looking
(a killed CLI) finds the build where it left it. ``hold`` freezes runs.
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


def _invalid(message: str) -> ArmError:
    return ArmError(400, "InvalidParameter", f"Validation failed: {message}")


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
    # customization.log planned for this run and how much of it has been uploaded
    custom_log: packerlog.StepsLog | None = None
    uploaded: list[str] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)
    account: str | None = None  # staging storage account name
    build_vm: str | None = None  # the temporary VM in the staging group
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
            run.account = self._ensure_staging_storage(tpl)
            staging = tpl.meta.get("staging_rg")
            if staging and self.arm.store.get(staging):
                vm = f"{staging}/providers/Microsoft.Compute/virtualMachines/vm{run.id[:8]}"
                self.arm.store.put(
                    Resource(
                        vm,
                        "Microsoft.Compute/virtualMachines",
                        {
                            "id": vm,
                            "name": ids.name_of(vm),
                            "type": "Microsoft.Compute/virtualMachines",
                            "location": tpl.body.get("location"),
                            "properties": {"provisioningState": "Succeeded"},
                        },
                    )
                )
                run.build_vm = vm
        elif phase == "Customizing":
            body = tpl.meta["spec"]
            customize = body.get("properties", {}).get("customize") or []
            run.custom_log = packerlog.steps(
                body, customize, self.customizer_output, self.arm.faults.customizer_failure
            )
            run.preamble = packerlog.preamble(body, run.id)
            self._upload(run, "customization.log", run.preamble)

    def _grow_log(self, run: BuildRun) -> None:
        """Upload the share of the customization output that the time spent in the phase so far covers."""
        assert run.custom_log is not None
        lines = run.custom_log.lines
        if self.seconds_per_phase:
            done = (time.monotonic() - run.started) / self.seconds_per_phase - run.index
        else:
            per = max(1, self.ticks_per_phase)
            done = (run.ticks - run.index * per + 1) / per
        upto = math.ceil(len(lines) * min(1.0, max(0.0, done)))
        body = run.preamble + lines[:upto]
        if len(body) > len(run.uploaded):
            self._upload(run, "customization.log", body)

    def _leave(self, run: BuildRun, phase: str) -> None:
        tpl = self._template(run)
        spec = tpl.meta["spec"]
        if phase == "Customizing":
            assert run.custom_log is not None
            full = run.preamble + run.custom_log.lines
            if run.custom_log.error:
                self._upload(run, "customization.log", full + packerlog.failure_tail(run.custom_log.error))
                keep = (spec.get("properties", {}).get("errorHandling") or {}).get(
                    "onCustomizerError"
                ) == "abort"
                self._end(run, "Failed", self._packer_failure(run, "customization.log"), keep_vm=keep)
                return
            self._upload(run, "customization.log", full)
        elif phase == "Validating":
            validate = spec.get("properties", {}).get("validate") or {}
            items = validate.get("inVMValidations") or []
            log = packerlog.steps(spec, items, self.validator_output, self.arm.faults.validation_failure)
            lines = packerlog.preamble(spec, run.id) + log.lines
            lines += packerlog.failure_tail(log.error) if log.error else []
            self._put_blob(run, "validation.log", lines)
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
            self._upload(run, "customization.log", run.uploaded + packerlog.success_tail(spec))
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
        run.state, run.message, run.end_time = state, message, now_iso()
        if run.build_vm and not keep_vm:
            self.arm.store.delete(run.build_vm)

    # ---- logs

    def _log_url(self, run: BuildRun, blob: str) -> str:
        return f"{self.arm.blobs.endpoint(run.account)}packerlogs/{run.id}/{blob}" if run.account else blob

    def _log_hint(self, run: BuildRun, blob: str) -> str:
        return (
            f"Image Build log location: {self._log_url(run, blob)}. OperationId: {run.op.id if run.op else ''}. "
            "Use this operation ID when requesting support."
        )

    def _packer_failure(self, run: BuildRun, blob: str) -> str:
        return (
            "Failed while waiting for packerizer: Microservice has failed: Failed while processing request: Error "
            "when executing packerizer: Packer build command has failed: exit status 1. During the image build, "
            "a failure has occurred, please review the build log to identify which build/customization step "
            "failed. For more troubleshooting steps go to https://aka.ms/azvmimagebuilderts. "
            + self._log_hint(run, blob)
        )

    def _upload(self, run: BuildRun, blob: str, lines: list[str]) -> None:
        run.uploaded = list(lines)
        self._put_blob(run, blob, lines)

    def _put_blob(self, run: BuildRun, blob: str, lines: list[str]) -> None:
        if run.account:
            self.arm.blobs.put(
                run.account, "packerlogs", f"{run.id}/{blob}", ("\n".join(lines) + "\n").encode()
            )

    # ---- staging resources

    def _ensure_staging_storage(self, tpl: Resource) -> str | None:
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

    def create_staging_group(self, tpl: Resource) -> None:
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
                        "createdBy": "AzureVMImageBuilder",
                        "imageTemplateName": tpl.name,
                        "imageTemplateResourceGroupName": rg,
                    },
                },
            )
            staging = self.arm.store.get(staging).id
        tpl.meta["staging_rg"], tpl.meta["staging_created"] = staging, created
        tpl.properties["exactStagingResourceGroup"] = staging

    def delete_staging(self, tpl: Resource) -> None:
        staging = tpl.meta.get("staging_rg")
        rg = self.arm.store.get(staging) if staging else None
        if rg is None:
            return
        if tpl.meta.get("staging_created"):
            self.arm.remove(rg)
        else:  # a group the user supplied: AIB empties it but leaves it
            for res in list(self.arm.store):
                if (
                    ids.contains(rg.id, res.id)
                    and not ids.same(res.id, rg.id)
                    and res.type != "Microsoft.Authorization/roleAssignments"
                ):
                    self.arm.remove(res)

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
        for target in spec["properties"].get("distribute") or []:
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
                return (
                    f"Distribution failed: Error distributing image '{name}' ({kind}): ({exc.code}) {exc.message} "
                    + self._log_hint(run, "customization.log")
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
            if not self.arm.rbac.allowed(principal, scope, action):
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
            ids.name_of(v.id)
            for v in self.arm.store.children(image.id, "Microsoft.Compute/galleries/images/versions")
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
            if spec_of(body) != spec_of(existing.meta["spec"]):
                raise ArmError(409, "Conflict", IMMUTABLE_MESSAGE)
            # The same template again: nothing changes (its run history stays).
            op = self.start_op(arm, existing.id, arm.ops.countdown(arm.config.lro_polls, lambda: None))
            return Response(200, self.render(arm, existing), arm.ops.headers(op, req.base_url))
        return super().put(arm, rid, body, req)

    def validate(self, arm, rid, body, existing, req):
        props = body.get("properties") or {}
        ident = self._check_identity(arm, body)
        principal, client = ident.properties["principalId"], ident.properties["clientId"]
        location = str(body.get("location", "")).replace(" ", "").lower()
        self._check_source(arm, props.get("source") or {})
        self._check_network(arm, props, location, principal, client)
        self._check_build_vm_identities(arm, props, principal, client)
        self._check_staging(arm, rid, props, principal, client)

    def _check_identity(self, arm, body) -> Resource:
        identity = body.get("identity") or {}
        uai = identity.get("userAssignedIdentities") or {}
        if identity.get("type") != "UserAssigned" or len(uai) != 1:
            raise _invalid(
                "'ImageTemplate.identity': the template needs exactly one user-assigned identity "
                "(identity.type 'UserAssigned')."
            )
        (iid,) = uai
        res = arm.store.get(iid)
        if res is None or res.type != "Microsoft.ManagedIdentity/userAssignedIdentities":
            raise _invalid(f"'ImageTemplate.identity': the user-assigned identity '{iid}' was not found.")
        return res

    def _check_source(self, arm, source) -> None:
        kind = source.get("type")
        if kind == "ManagedImage" and arm.store.get(source.get("imageId", "")) is None:
            raise _invalid(
                f"'ImageTemplate.properties.source': managed image '{source.get('imageId')}' not found."
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
                raise _invalid(f"'ImageTemplate.properties.source': gallery image version '{vid}' not found.")

    def _check_network(self, arm, props, location, principal, client) -> None:
        vnet_cfg = (props.get("vmProfile") or {}).get("vnetConfig") or {}
        subnet_id, aci_id = vnet_cfg.get("subnetId"), vnet_cfg.get("containerInstanceSubnetId")
        if not subnet_id:
            if aci_id:
                raise _invalid("'vnetConfig.containerInstanceSubnetId' requires 'vnetConfig.subnetId'.")
            return
        subnet = arm.store.get(subnet_id)
        if subnet is None or subnet.type != "Microsoft.Network/virtualNetworks/subnets":
            raise _invalid(f"'vnetConfig.subnetId': subnet '{subnet_id}' was not found.")
        vnet = arm.store.get(ids.parent_of(subnet.id))
        if vnet is not None and vnet.body.get("location") != location:
            raise _invalid(
                f"'vnetConfig.subnetId': the virtual network '{vnet.name}' is in "
                f"'{vnet.body.get('location')}', but the template is in '{location}'; they must match."
            )
        checks = [
            (vnet.id if vnet else subnet.id, NETWORK_ROLE_ACTIONS[0]),
            (subnet.id, NETWORK_ROLE_ACTIONS[1]),
        ]
        if aci_id:
            if vnet_cfg.get("proxyVmSize"):
                raise _invalid(
                    "'vnetConfig.proxyVmSize' must not be set together with 'containerInstanceSubnetId'."
                )
            aci = arm.store.get(aci_id)
            if aci is None or aci.type != "Microsoft.Network/virtualNetworks/subnets":
                raise _invalid(f"'vnetConfig.containerInstanceSubnetId': subnet '{aci_id}' was not found.")
            if ids.same(aci.id, subnet.id) or not ids.same(
                ids.parent_of(aci.id), subnet.id.rsplit("/subnets/", 1)[0]
            ):
                raise _invalid(
                    "'vnetConfig.containerInstanceSubnetId' must be a different subnet of the same "
                    "virtual network as 'subnetId'."
                )
            delegations = [
                d.get("properties", {}).get("serviceName") for d in aci.properties.get("delegations") or []
            ]
            if ACI_DELEGATION not in delegations:
                raise _invalid(
                    f"'vnetConfig.containerInstanceSubnetId': subnet '{aci.name}' must be delegated to "
                    f"'{ACI_DELEGATION}'."
                )
            if arm.providers.state("Microsoft.ContainerInstance") != "Registered":
                raise _invalid(
                    "isolated builds with 'containerInstanceSubnetId' need the resource provider "
                    "'Microsoft.ContainerInstance' registered in the subscription."
                )
            checks.append((aci.id, NETWORK_ROLE_ACTIONS[1]))
        elif subnet.properties.get("privateLinkServiceNetworkPolicies", "Enabled") != "Disabled":
            raise _invalid(
                f"'vnetConfig.subnetId': subnet '{subnet.name}' must have "
                "'privateLinkServiceNetworkPolicies' set to 'Disabled' for the proxy VM's private link."
            )
        for scope, action in checks:
            if not arm.rbac.allowed(principal, scope, action):
                raise _invalid(
                    f"Failed to validate access to '{scope}': "
                    + _auth_message(client, principal, action, scope)
                )

    def _check_build_vm_identities(self, arm, props, principal, client) -> None:
        for iid in (props.get("vmProfile") or {}).get("userAssignedIdentities") or []:
            if arm.store.get(iid) is None:
                raise _invalid(f"'vmProfile.userAssignedIdentities': identity '{iid}' was not found.")
            action = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
            if not arm.rbac.allowed(principal, iid, action):
                raise _invalid(_auth_message(client, principal, action, iid))

    def _check_staging(self, arm, rid, props, principal, client) -> None:
        given = props.get("stagingResourceGroup")
        if not given:
            return
        rg = ids.resource_group_of(given)
        if rg is None or not ids.same(given, ids.rg_id(*rg)):
            raise ArmError(400, "BadStagingResourceGroup", f"'{given}' is not a resource group ID.")
        res = arm.store.get(given)
        if res is None:
            return
        tags = res.body.get("tags") or {}
        if tags.get("imageTemplateName") and tags.get("imageTemplateName") != ids.name_of(rid):
            raise ArmError(
                400,
                "BadStagingResourceGroup",
                f"The staging resource group '{rg[1]}' is already used by image template "
                f"'{tags['imageTemplateName']}'.",
            )
        if any(
            ids.contains(given, r.id)
            and not ids.same(r.id, given)
            and r.type != "Microsoft.Authorization/roleAssignments"
            for r in arm.store
        ):
            raise ArmError(
                400, "BadStagingResourceGroup", f"The staging resource group '{rg[1]}' is not empty."
            )
        for action in (
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Storage/storageAccounts/write",
        ):
            if not arm.rbac.allowed(principal, given, action):
                raise ArmError(
                    400,
                    "BadStagingResourceGroup",
                    "The template identity needs Contributor on the staging resource group: "
                    + _auth_message(client, principal, action, given),
                )

    def on_provisioned(self, arm, res):
        if "staging_rg" not in res.meta:
            arm.imagebuilder.create_staging_group(res)

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
            return "Failed", {"code": "BuildFailed", "message": run.message}

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
