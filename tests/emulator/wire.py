"""Request/response values exchanged between the HTTPS transport and the emulator, and ARM errors."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    path: str  # URL path without query, percent-decoded, no trailing slash
    query: dict[str, str]  # first value of each parameter; keys as sent
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    base_url: str = ""  # https://127.0.0.1:PORT of the server that received it

    @classmethod
    def build(cls, method: str, target: str, headers: dict[str, str], body: bytes, base_url: str) -> Request:
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(target)
        path = unquote(parts.path).rstrip("/") or "/"
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        return cls(method.upper(), path, query, {k.lower(): v for k, v in headers.items()}, body, base_url)

    def q(self, name: str) -> str | None:
        """Query parameter by case-insensitive name."""
        for key, value in self.query.items():
            if key.lower() == name.lower():
                return value
        return None

    @property
    def api_version(self) -> str | None:
        return self.q("api-version")

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ArmError(
                400,
                "InvalidRequestContent",
                f"The request content was invalid and could not be deserialized: {exc}.",
            ) from exc


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


class ArmError(Exception):
    """An error ARM would answer with: ``{"error": {"code", "message"}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        details: list[dict] | None = None,
    ):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.details = details

    def response(self) -> Response:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            err["details"] = self.details
        return Response(self.status, {"error": err}, dict(self.headers))


class DropConnection(Exception):
    """Close the client's connection without sending a response."""


def new_guid() -> str:
    return str(uuid.uuid4())
