"""Image Builder's build logs: staging resource group → its storage account → packerlogs/<run>/*.log,
and, while a build runs, the live output of its build container.

The logs reach packerlogs only after the build, one folder per run; while it runs, its output is in the
build container instance `vmimagebuilder-build-container-*` of the staging group:
https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-troubleshoot#customization-log
So a live view reads the container's logs (Containers - List Logs, which needs
Microsoft.ContainerInstance/containerGroups/containers/logs/read on the staging group: Reader there is
enough), and a log read picks the folder of the run asked about, never an earlier run's.

Blobs are read with Azure AD first (Storage Blob Data Reader on the account). Only when that is
denied (403) does it fall back to a storage account key, fetched with listKeys if the caller may;
the key lives in memory for the one client and is never printed or logged.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.errors import AzureFailure, arm, error_code, from_http
from aks_jumpbox.azure.resources import to_json
from aks_jumpbox.core.runs import instant as _instant

CONTAINER = "packerlogs"
LOG_NAMES = ("customization.log", "validation.log")
BUILD_CONTAINER_PREFIX = "vmimagebuilder-build-container-"
CONTAINER_GROUPS = "Microsoft.ContainerInstance/containerGroups"
LOGS_READ = "Microsoft.ContainerInstance/containerGroups/containers/logs/read"
WAITING = "waiting for the build VM's output"
# A failed run's message names its log:
#   "Image Build log location: https://…/packerlogs/<run>/customization.log"
_FOLDER_IN_MESSAGE = re.compile(r"/packerlogs/([^/\s]+)/(?:customization|validation)\.log")


@dataclass(frozen=True)
class Run:
    """Which run's logs to read: the folder its failure message names, else the newest one written after
    it started (strictly after, while it runs: Image Builder writes a run's logs when it ends, so a folder
    from the second the run started is the previous run's)."""

    start_time: str | None = None
    message: str | None = None
    active: bool = False

    @property
    def folder(self) -> str | None:
        m = _FOLDER_IN_MESSAGE.search(self.message or "")
        return m[1] if m else None

    @property
    def since(self) -> dt.datetime | None:
        start = _instant(self.start_time)
        # Blob times have whole seconds.
        return start.replace(microsecond=0) if start else None


@dataclass
class Logs:
    staging_resource_group: str
    account: str
    auth: str  # "azure-ad" | "account-key"
    run_folder: str | None = None
    texts: dict[str, str] = field(default_factory=dict)  # log name -> text
    blob_urls: dict[str, str] = field(default_factory=dict)


def staging_group(az: Azure, template: dict[str, Any]) -> str | None:
    """The name of the template's staging resource group, if it (still) exists."""
    props = template.get("properties") or {}
    exact = props.get("exactStagingResourceGroup") or props.get("stagingResourceGroup")
    if exact:
        return exact.rstrip("/").split("/")[-1]
    # Older templates: Image Builder's IT_<rg>_<template>_<guid> group, recognised by its tags.
    name = template.get("name", "")
    rg = (template.get("id") or "").split("/")[4] if (template.get("id") or "").count("/") > 4 else ""
    with arm("listing resource groups to find the staging group", f"/subscriptions/{az.subscription}"):
        for group in az.resources.resource_groups.list():
            g = to_json(group) or {}
            tags = g.get("tags") or {}
            if tags.get("imageTemplateName") == name or g.get("name", "").lower().startswith(
                f"it_{rg}_{name}_".lower()
            ):
                return g["name"]
    return None


def storage_account(az: Azure, group: str) -> tuple[str, str, str] | None:
    """(name, id, blob endpoint) of the staging group's storage account, if there is one yet."""
    rid = f"/subscriptions/{az.subscription}/resourceGroups/{group}"
    with arm("listing the storage accounts of the staging resource group", rid):
        try:
            for account in az.storage.storage_accounts.list_by_resource_group(group):
                a = to_json(account) or {}
                blob = ((a.get("properties") or {}).get("primaryEndpoints") or {}).get("blob")
                return a["name"], a["id"], blob or az.cloud.blob_endpoint(a["name"])
        except ResourceNotFoundError:
            return None
    return None


class LogReader:
    """Reads (and tails) the logs of the newest run in one staging storage account."""

    def __init__(self, az: Azure, group: str, account: str, account_id: str, endpoint: str) -> None:
        self.az, self.group, self.account, self.account_id, self.endpoint = az, group, account, account_id, endpoint
        self.auth = "azure-ad"
        self._container: Any = None
        self._offsets: dict[str, int] = {}
        self._texts: dict[str, str] = {}

    def _client(self, key: tuple[str, str] | None) -> Any:
        return self.az.blob_service(self.endpoint, key).get_container_client(CONTAINER)

    def _account_key(self) -> str:
        action = f"listing the keys of storage account {self.account} (Azure AD access to its blobs was denied)"
        try:
            keys = self.az.storage.storage_accounts.list_keys(self.group, self.account)
        except HttpResponseError as exc:
            failure = from_http(action, exc, self.account_id)
            failure.hint = (
                "Grant yourself Storage Blob Data Reader on the storage account (preferred), or the "
                "right to list its keys, then run `aks-jumpbox logs` again."
            )
            raise failure from None
        listed = to_json(keys) or {}
        values = [k.get("value") for k in listed.get("keys") or [] if k.get("value")]
        if not values:
            raise AzureFailure(action, "NoKeys", "the storage account returned no keys", resource=self.account_id)
        return values[0]

    def _list(self) -> list[Any]:
        """Blobs of packerlogs, switching to key auth once if Azure AD is denied."""
        where = f"{self.endpoint.rstrip('/')}/{CONTAINER}"
        if self._container is None:
            self._container = self._client(None)
        try:
            return list(self._container.list_blobs())
        except HttpResponseError as exc:
            if exc.status_code == 404 or error_code(exc) == "ContainerNotFound":
                return []
            if exc.status_code not in (401, 403) or self.auth != "azure-ad":
                raise from_http(f"listing the build logs in {where}", exc, self.account_id) from None
        self.auth = "account-key"
        self._container = self._client((self.account, self._account_key()))
        try:
            return list(self._container.list_blobs())
        except HttpResponseError as exc:
            if exc.status_code == 404:
                return []
            raise from_http(f"listing the build logs in {where} with the account key", exc, self.account_id) from None

    def newest_run(self, run: Run | None = None) -> tuple[str | None, dict[str, Any]]:
        """(run folder, {log name: blob}) of `run` (its folder, or the newest written since it started),
        or of the newest run when none is given; (None, {}) when that run has no logs yet."""
        by_folder: dict[str, dict[str, Any]] = {}
        for blob in self._list():
            folder, _, leaf = blob.name.rpartition("/")
            if leaf in LOG_NAMES:
                by_folder.setdefault(folder, {})[leaf] = blob

        def newest(item: tuple[str, dict[str, Any]]) -> Any:
            return max(_instant(b.last_modified) or dt.datetime.min.replace(tzinfo=dt.UTC) for b in item[1].values())

        if run is not None and run.folder:
            return (run.folder, by_folder[run.folder]) if run.folder in by_folder else (None, {})
        since = run.since if run is not None else None
        if since is not None:
            strict = run is not None and run.active
            by_folder = {
                k: v for k, v in by_folder.items() if newest((k, v)) > since or (not strict and newest((k, v)) == since)
            }
        if not by_folder:
            return None, {}
        folder, blobs = max(by_folder.items(), key=newest)
        return folder, blobs

    def read(self, name: str, blob: Any) -> str:
        """The whole blob, fetching only what was added since the last read (logs only grow)."""
        have = self._offsets.get(blob.name, 0)
        size = blob.size or 0
        if size < have:  # rewritten from scratch: start over
            have, self._texts[blob.name] = 0, ""
        if size > have:
            try:
                data = self._container.download_blob(blob.name, offset=have, length=size - have).readall()
            except HttpResponseError as exc:
                raise from_http(f"downloading {CONTAINER}/{blob.name}", exc, self.account_id) from None
            self._texts[blob.name] = self._texts.get(blob.name, "") + data.decode("utf-8", errors="replace")
            self._offsets[blob.name] = have + len(data)
        return self._texts.get(blob.name, "")

    def fetch(self, run: Run | None = None) -> Logs:
        folder, blobs = self.newest_run(run)
        logs = Logs(self.group, self.account, self.auth, folder)
        for name in LOG_NAMES:
            if name in blobs:
                logs.texts[name] = self.read(name, blobs[name])
                logs.blob_urls[name] = f"{self.endpoint.rstrip('/')}/{CONTAINER}/{blobs[name].name}"
        logs.auth = self.auth
        return logs


def reader_for(az: Azure, template: dict[str, Any]) -> LogReader | None:
    """A reader for the template's logs, or None when Image Builder has made no staging storage yet."""
    group = staging_group(az, template)
    if group is None:
        return None
    found = storage_account(az, group)
    if found is None:
        return None
    name, account_id, endpoint = found
    return LogReader(az, group, name, account_id, endpoint)


@dataclass
class LiveOutput:
    text: str  # what the build container printed (its last lines), "" when nothing could be read
    source: str  # where it came from, or why there is nothing yet


def _build_containers(az: Azure, group: str) -> list[dict[str, Any]]:
    """The staging group's build container instances, with their creation times: Resources - List By Resource
    Group returns createdTime when asked with $expand=createdTime
    (https://learn.microsoft.com/rest/api/resources/resources/list-by-resource-group)."""
    found = [
        to_json(r) or {}
        for r in az.resources.resources.list_by_resource_group(
            group, filter=f"resourceType eq '{CONTAINER_GROUPS}'", expand="createdTime"
        )
    ]
    return [r for r in found if str(r.get("name", "")).startswith(BUILD_CONTAINER_PREFIX)]


def current_container(containers: list[dict[str, Any]], run_start: str | None) -> str | None:
    """The build container of the run that started at run_start: one made since then (the newest, if a
    previous run's lingers too), never one made before it. Without times to compare, the only one there is."""
    start = _instant(run_start)
    dated = [(c, _instant(c.get("createdTime"))) for c in containers]
    if start is not None and any(t is not None for _, t in dated):
        mine = [(c, t) for c, t in dated if t is not None and t >= start]
        return max(mine, key=lambda ct: ct[1])[0]["name"] if mine else None
    return containers[-1]["name"] if containers else None


def live_output(az: Azure, group: str | None, lines: int = 200, run_start: str | None = None) -> LiveOutput:
    """The current run's build container's recent output (Containers - List Logs), or why it cannot be
    read now. A previous run's container that lingers is never read: its lines are not this run's."""
    if group is None:
        return LiveOutput("", f"{WAITING} (Image Builder has not made its staging resource group yet)")
    rid = f"/subscriptions/{az.subscription}/resourceGroups/{group}"
    try:
        containers = _build_containers(az, group)
        name = current_container(containers, run_start)
        if name is None:
            return LiveOutput("", f"{WAITING} (no build container of this run in {group} yet)")
        ci = az.containerinstance
        container_group = to_json(ci.container_groups.get(group, name)) or {}
        props = container_group.get("properties") or container_group
        names = [c.get("name") for c in props.get("containers") or [] if c.get("name")]
        if not names:
            return LiveOutput("", f"{WAITING} (the build container {name} has no container yet)")
        logs = to_json(ci.containers.list_logs(group, name, names[0], tail=lines)) or {}
        text = str(logs.get("content") or "")
        return LiveOutput(
            text, f"live output of {name}" if text.strip() else f"{WAITING} ({name} has printed nothing yet)"
        )
    except ResourceNotFoundError:
        return LiveOutput("", f"{WAITING} (the build container is gone: the build is ending)")
    except HttpResponseError as exc:
        if exc.status_code in (401, 403):
            return LiveOutput(
                "",
                f"{WAITING}: reading the build container's logs needs {LOGS_READ} on "
                f"the staging resource group {group} (Reader there is enough); Azure said "
                f"{error_code(exc)}",
            )
        failure = from_http("reading the build container's logs", exc, rid)
        return LiveOutput("", f"{WAITING} ({failure.code}: {failure.message.splitlines()[0][:200]})")
