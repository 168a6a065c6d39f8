"""The live preflight source: ARM GETs through the SDK's pipeline, answered as raw REST JSON.

Requests go through the resource management client's pipeline (credential, custom-cloud endpoint,
retries with backoff) with `send_request`, not through typed operations: the checks and snapshot
folders want the documents exactly as ARM returns them, including properties an SDK model does not
know, and a snapshot must read back identically.
"""

from __future__ import annotations

import json
from typing import Any

from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.errors import SIGN_IN_HINT, AzureFailure, SignInFailure, arm
from aks_jumpbox.core.spec import azure_facts
from aks_jumpbox.preflight.source import (
    Doc,
    Source,
    Unavailable,
    firewalls_path,
    image_versions_path,
    permissions_path,
    provider_path,
    role_assignments_path,
    type_from_id,
)

# Answers that mean "Azure will not tell this caller": the check is skipped with ARM's reason.
_REFUSED = (400, 403, 409)  # 401 (the token refused) is a failed sign-in, below


class LiveSource(Source):
    concurrent_reads = True

    def __init__(self, az: Azure) -> None:
        if not isinstance(az, Azure):
            raise TypeError(f"a preflight source must be a Source or the Azure adapter, not {type(az).__name__}")
        self.az = az
        self.description = f"Azure subscription {az.subscription}"
        self.versions = {k.lower(): v for k, v in azure_facts()["preflight_api_versions"].items()}

    def _api(self, path: str) -> str:
        rtype = type_from_id(path)
        if rtype.startswith("microsoft.resources/") or rtype == "":
            rtype = "microsoft.resources/resourcegroups" if rtype else "microsoft.resources/providers"
        try:
            return self.versions[rtype]
        except KeyError:
            raise Unavailable(f"aks-jumpbox does not know which api-version to read {rtype or path} with") from None

    def _get(self, path: str, params: dict[str, str] | None = None, *, url: str | None = None) -> Any:
        """The JSON body of a GET; None on 404; Unavailable when Azure refuses to say."""
        from azure.core.rest import HttpRequest

        request = (
            HttpRequest("GET", url)
            if url
            else HttpRequest("GET", path, params={"api-version": self._api(path), **(params or {})})
        )
        with arm(f"reading {path}", path):
            response = self.az.resources.send_request(request)
        status = response.status_code
        if status == 404:
            return None
        text = response.text()
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        if 200 <= status < 300:
            return body
        error = body.get("error") if isinstance(body, dict) else None
        err = error if isinstance(error, dict) else {}
        code = str(err.get("code") or f"HTTP{status}")
        message = str(err.get("message") or response.reason or "")
        if status == 401:  # the token itself was refused: every read would be, so nothing can be checked
            raise SignInFailure(f"reading {path}", code, message, resource=path, status=status, hint=SIGN_IN_HINT)
        if status in _REFUSED:
            raise Unavailable(message, code, status)
        raise AzureFailure(f"reading {path}", code, message, resource=path, status=status)

    def _list(self, path: str, params: dict[str, str] | None = None) -> list[Doc]:
        body = self._get(path, params)
        if body is None:
            return []
        if isinstance(body, list):  # e.g. marketplace image versions
            return body
        items = list(body.get("value") or [])
        nxt = body.get("nextLink")
        while nxt:
            page = self._get(path, url=nxt) or {}
            items += page.get("value") or []
            nxt = page.get("nextLink")
        return items

    def resource(self, rid: str) -> Doc | None:
        return self._get(rid)

    def provider(self, subscription: str, namespace: str) -> Doc | None:
        return self._get(provider_path(subscription, namespace))

    def firewalls(self, subscription: str) -> list[Doc]:
        return self._list(firewalls_path(subscription))

    def role_assignments(self, subscription: str, principal_id: str) -> list[Doc]:
        return self._list(role_assignments_path(subscription), {"$filter": f"principalId eq '{principal_id}'"})

    def permissions(self, scope: str) -> list[Doc]:
        return self._list(permissions_path(scope))

    def image_versions(self, subscription: str, location: str, publisher: str, offer: str, sku: str) -> list[Doc]:
        return self._list(image_versions_path(subscription, location, publisher, offer, sku))
