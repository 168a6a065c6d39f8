"""Every image template request the emulator accepts, and every answer it gives about image templates,
checked against Microsoft's REST API spec (tests/data/rest-api-specs/imagebuilder/2025-10-01, read by
tests/support/swagger.py).

A request body the swagger rejects but the emulator accepted, or an answer of the emulator that the
swagger rejects, is recorded in ``arm.swagger_violations``; the ``arm_emulator`` fixture fails the test
on any (as it does on internal errors). Bodies the emulator refused (4xx) are ARM's business, not
recorded: tests send broken bodies on purpose.
"""

from __future__ import annotations

from pathlib import Path

from . import ids
from .wire import Request, Response

SPEC = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "rest-api-specs"
    / "imagebuilder"
    / "2025-10-01"
    / "imagebuilder.json"
)
TEMPLATES = "microsoft.virtualmachineimages/imagetemplates"


def _swagger():
    from tests.support.swagger import Swagger

    global _LOADED
    try:
        return _LOADED
    except NameError:
        _LOADED = Swagger.load(SPEC)
        return _LOADED


def _schemas(req: Request) -> tuple[str | None, str | None]:
    """(request model, response model) of the image template operation this request is, else (None, None)."""
    p = ids.parse(req.path)
    if p is None or p.namespace.lower() != "microsoft.virtualmachineimages":
        return None, None
    types = "/".join((p.namespace, *p.types)).lower()
    if types == TEMPLATES and not p.tail:
        return {
            "PUT": ("ImageTemplate", "ImageTemplate"),
            "PATCH": ("ImageTemplateUpdateParameters", "ImageTemplate"),
            "GET": (None, "ImageTemplate"),
        }.get(req.method, (None, None))
    if types == TEMPLATES and p.tail and req.method == "GET":
        return None, "RunOutputCollection" if p.tail.lower() == "runoutputs" else None
    if p.full_type.lower() == f"{TEMPLATES}/runoutputs" and not p.tail and req.method == "GET":
        return None, "RunOutput"
    if p.tail and p.tail.lower() == "imagetemplates" and not p.names and req.method == "GET":
        return None, "ImageTemplateListResult"
    return None, None


def check(req: Request, resp: Response) -> list[str]:
    request_model, response_model = _schemas(req)
    if not (request_model or response_model) or not 200 <= resp.status < 300:
        return []
    swagger = _swagger()
    out = []
    if request_model:
        body = req.json()
        for e in swagger.errors(body, {"$ref": f"#/definitions/{request_model}"}, request=True):
            out.append(f"{req.method} {req.path} request ({request_model}): {e}")
    if response_model and isinstance(resp.body, dict):
        for e in swagger.errors(resp.body, {"$ref": f"#/definitions/{response_model}"}, request=False):
            out.append(f"{req.method} {req.path} answer {resp.status} ({response_model}): {e}")
    return out
