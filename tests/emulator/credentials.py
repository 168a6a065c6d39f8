"""Tokens for the emulators: unsigned JWTs with the claims Azurite's ``--oauth basic`` checks.

The fake ``az`` (fakebin/az) prints the same kind of token, so a product run as a subprocess gets one
through the real ``AzureCliCredential`` / ``DefaultAzureCredential``. In-process test clients use
``FakeJwtCredential``. The ARM emulator reads the ``oid`` claim as the caller's principal ID.
"""

from __future__ import annotations

import base64
import json
import time

from azure.core.credentials import AccessToken


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def make_jwt(audience: str, object_id: str, tenant_id: str, lifetime: int = 3600) -> tuple[str, int]:
    now = int(time.time())
    claims = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "tid": tenant_id,
        "oid": object_id,
        "sub": object_id,
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + lifetime,
        "ver": "1.0",
    }
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.unsigned", now + lifetime


class FakeJwtCredential:
    """A TokenCredential for in-process SDK clients."""

    def __init__(self, object_id: str, tenant_id: str) -> None:
        self.object_id, self.tenant_id = object_id, tenant_id
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        self.scopes.extend(scopes)
        resource = (scopes[0] if scopes else "https://management.azure.com/.default").removesuffix("/.default")
        token, expires = make_jwt(resource, self.object_id, self.tenant_id)
        return AccessToken(token, expires)

    def close(self) -> None: ...

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None: ...
