"""Reading ARM resource JSON as the REST API, `az resource show` or `az network ... show` return it."""

from __future__ import annotations

from typing import Any

from aks_jumpbox.core.errors import UserError


class ResourceFormatError(UserError):
    """An ARM document lacks a field the evaluators need, or holds a value Azure would not accept."""


def props(doc: Any, what: str = "resource") -> dict[str, Any]:
    """The resource's properties.

    REST GETs and `az resource show` nest them under ``properties``; the `az network` commands print
    them flattened into the top level. Both shapes are accepted.
    """
    if not isinstance(doc, dict):
        raise ResourceFormatError(f"{what}: expected a JSON object, got {type(doc).__name__}")
    inner = doc.get("properties")
    if inner is not None and not isinstance(inner, dict):  # not read as flattened: its fields would vanish
        raise ResourceFormatError(f"{what}: properties: expected a JSON object, got {type(inner).__name__}")
    return inner if isinstance(inner, dict) else doc


def name_of(doc: dict[str, Any]) -> str:
    name = doc.get("name")
    if isinstance(name, str) and name:
        return name
    rid = doc.get("id")
    return rid.rstrip("/").rsplit("/", 1)[-1] if isinstance(rid, str) and rid else "<unnamed>"


def id_of(doc: dict[str, Any]) -> str:
    rid = doc.get("id")
    return rid if isinstance(rid, str) else ""


def str_list(value: Any, single: Any, where: str) -> tuple[str, ...]:
    """Merge ARM's paired singular/plural fields (``sourceAddressPrefix`` / ``sourceAddressPrefixes``)."""
    out: list[str] = []
    if single not in (None, ""):
        if not isinstance(single, str):
            raise ResourceFormatError(f"{where}: expected a string, got {single!r}")
        out.append(single)
    if value not in (None, ""):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ResourceFormatError(f"{where}: expected a list of strings, got {value!r}")
        out.extend(value)
    return tuple(out)


def id_list(value: Any, where: str) -> tuple[str, ...]:
    """IDs from a list of ``{"id": ...}`` references (ASGs, IP groups)."""
    if value in (None, ""):
        return ()
    if not isinstance(value, list):
        raise ResourceFormatError(f'{where}: expected a list of {{"id": ...}} objects, got {value!r}')
    out: list[str] = []
    for item in value:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            out.append(item["id"])
        elif isinstance(item, str):
            out.append(item)
        else:
            raise ResourceFormatError(f'{where}: expected {{"id": ...}}, got {item!r}')
    return tuple(out)
