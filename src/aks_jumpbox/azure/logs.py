"""Image Builder's build logs: staging resource group → its storage account → packerlogs/<run>/*.log.

Blobs are read with Azure AD first (Storage Blob Data Reader on the account). Only when that is
denied (403) does it fall back to a storage account key, fetched with listKeys if the caller may;
the key lives in memory for the one client and is never printed or logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.errors import AzureFailure, arm, error_code, from_http
from aks_jumpbox.azure.resources import to_json

CONTAINER = "packerlogs"
LOG_NAMES = ("customization.log", "validation.log")


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
            if tags.get("imageTemplateName") == name or g.get("name", "").lower().startswith(f"it_{rg}_{name}_".lower()):
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
            failure.hint = ("Grant yourself Storage Blob Data Reader on the storage account (preferred), or the "
                            "right to list its keys, then run `aks-jumpbox logs` again.")
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

    def newest_run(self) -> tuple[str | None, dict[str, Any]]:
        """(run folder, {log name: blob}) of the newest run that has a customization.log."""
        by_folder: dict[str, dict[str, Any]] = {}
        for blob in self._list():
            folder, _, leaf = blob.name.rpartition("/")
            if leaf in LOG_NAMES:
                by_folder.setdefault(folder, {})[leaf] = blob
        if not by_folder:
            return None, {}

        def newest(item: tuple[str, dict[str, Any]]) -> Any:
            return max(b.last_modified for b in item[1].values())

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

    def fetch(self) -> Logs:
        folder, blobs = self.newest_run()
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
