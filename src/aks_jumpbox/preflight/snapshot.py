"""Snapshot folders: Azure's state as ARM JSON files, read offline by `check --snapshot DIR`.

Every ``*.json`` file in the folder (subfolders included) holds one JSON value, which is one of:

* **a resource** — an object with ``"id"``, exactly as ``az resource show --ids …``, ``az network … show``
  or a REST GET return it (``properties`` nested or flattened). A VNet's document embeds its subnets;
  separate subnet documents are accepted too.
* **a provider registration** — ``{"namespace": …, "registrationState": …}`` as
  ``az provider show -n …`` or ``GET /subscriptions/{id}/providers/{namespace}`` return it.
* **a list envelope** — ``{"value": [ … ]}`` as REST list calls return them, with an ``"id"`` naming
  the collection read (the request path without query), e.g.
  ``{"id": "/subscriptions/…/resourceGroups/rg/providers/Microsoft.Authorization/permissions", "value": [...]}``
  for the caller's permissions at that scope, or ``…/providers/Microsoft.Compute/locations/{region}/publishers/
  {p}/artifacttypes/vmimage/offers/{o}/skus/{s}/versions`` for marketplace image versions. Items that
  are resources count as resources too. Without ``"id"`` an envelope is just a container of resources.
* **an error document** — ``{"id": …, "status": 404, "error": {"code": …, "message": …}}``: ARM's error
  body for a GET of ``id``. Status 404 (or a code ending in ``NotFound``) records that the resource does
  not exist; any other error (e.g. 403 ``AuthorizationFailed``) that it could not be read.
* **an array** of any of these.

What the folder does not hold is *unknown*, not absent: the checks that need it are skipped with the
reason. Role assignments are the exception: when the folder holds any role assignment (or a role
assignment list), a principal with none has none. ``aks-jumpbox snapshot --out DIR`` writes exactly
these shapes from live Azure.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from aks_jumpbox.adapters.files import (
    DOCUMENT_LIMIT,
    InputError,
    confined,
    ensure_dir,
    load_json,
    read_input,
    write_atomic,
)
from aks_jumpbox.core.errors import UserError
from aks_jumpbox.preflight import firewall, nsg, route, subnet
from aks_jumpbox.preflight._arm import ResourceFormatError, id_of, name_of, props
from aks_jumpbox.preflight.permissions import blocks_of_role
from aks_jumpbox.preflight.source import (
    Answer,
    Doc,
    Source,
    Unavailable,
    firewalls_path,
    image_versions_path,
    permissions_path,
    provider_path,
    role_assignments_path,
)
from aks_jumpbox.preflight.source import (
    type_from_id as _type_from_id,
)

__all__ = ["DOCUMENT_GLOB", "FolderSource", "SnapshotError", "document_file", "load_snapshot", "write_snapshot"]

# What `check --snapshot` reads of a folder (subfolders too); `snapshot` and `snapshot --print-commands` write
# their files by document_file() below, so every file either writes is one the loader reads.
DOCUMENT_GLOB = "*.json"

_PERMISSIONS_SUFFIX = "/providers/microsoft.authorization/permissions"
_ROLE_ASSIGNMENTS = "microsoft.authorization/roleassignments"
_ROLE_DEFINITIONS = "microsoft.authorization/roledefinitions"
SHAPES = (
    'an ARM resource (an object with "id"), a provider registration ({"namespace", "registrationState"}), '
    'a list envelope ({"value": [...]}), an error document ({"id", "error"}) or an array of these'
)


class SnapshotError(UserError):
    """A snapshot folder or one of its files cannot be read."""


def _key(rid: str) -> str:
    return rid.strip().rstrip("/").lower()


def _type_of(doc: Mapping[str, Any]) -> str:
    t = doc.get("type")
    if isinstance(t, str) and t:
        return t.lower()
    return _type_from_id(id_of(dict(doc)))


def _subscription_of(rid: str) -> str | None:
    m = re.match(r"^/subscriptions/([^/]+)", rid.strip(), re.IGNORECASE)
    return m[1].lower() if m else None


def _is_not_found(status: Any, code: Any) -> bool:
    return status == 404 or (isinstance(code, str) and code.lower().endswith(("notfound", "doesnotexist")))


def _validate(doc: Doc, rtype: str) -> None:
    """Parse what the checks will parse, so a bad document is reported with its file, up front."""
    if rtype == "microsoft.network/networksecuritygroups":
        nsg.compile_nsg(doc, nsg.NetworkContext())
    elif rtype == "microsoft.network/routetables":
        route.parse_route_table(doc)
    elif rtype == "microsoft.network/virtualnetworks":
        subnet.virtual_network_prefixes(doc)
        loc = doc.get("location")
        if not isinstance(loc, str) or not loc:
            raise ResourceFormatError(f"virtual network {name_of(doc)}: location: missing")
        for s in props(doc, "virtual network").get("subnets") or []:
            subnet.subnet_info(_embedded_subnet(doc, s))
    elif rtype == "microsoft.network/virtualnetworks/subnets":
        subnet.subnet_info(doc)
    elif rtype == "microsoft.network/firewallpolicies/rulecollectiongroups":
        stub = {"id": id_of(doc).rsplit("/ruleCollectionGroups/", 1)[0], "name": "policy", "properties": {}}
        firewall.compile_policy(firewall.FirewallPolicyDocs(stub, (doc,)))
    elif rtype == _ROLE_DEFINITIONS:
        blocks_of_role(doc)
    elif rtype == _ROLE_ASSIGNMENTS:
        p = props(doc, "role assignment")
        for field in ("principalId", "roleDefinitionId"):
            if not isinstance(p.get(field), str):
                raise ResourceFormatError(f"role assignment {name_of(doc)}: {field}: missing")


def _embedded_subnet(vnet: Doc, s: Any) -> Doc:
    if not isinstance(s, dict):
        raise ResourceFormatError(f"virtual network {name_of(vnet)}: subnets: expected objects")
    if isinstance(s.get("id"), str) and s["id"]:
        return s
    return {**s, "id": f"{id_of(vnet)}/subnets/{name_of(s)}"}


class FolderSource(Source):
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = f"snapshot {folder}"
        self.docs: dict[str, Doc] = {}
        self.origin: dict[str, str] = {}
        self.where: dict[str, str] = {}
        self.embedded: dict[str, Doc] = {}
        self.by_type: dict[str, list[Doc]] = {}
        self.providers: dict[str, list[Doc]] = {}
        self.envelopes: dict[str, list[Any]] = {}
        self.errors: dict[str, tuple[Any, str, str]] = {}
        self.files = 0

    # ---- loading

    def add_file(self, path: Path) -> None:
        label = str(path.relative_to(self.folder)) if path.is_relative_to(self.folder) else str(path)
        fix = "Each file must hold one JSON document, as `az resource show` prints it."
        try:
            text = read_input(
                path,
                what="snapshot document",
                limit=DOCUMENT_LIMIT,
                encoding="utf-8-sig",
                label=str(self.folder / label),
            )
            value = load_json(text, str(self.folder / label), fix=fix)
        except InputError as e:
            at = f":{e.line}:{e.column}" if e.line and e.column else f":{e.line}" if e.line else ""
            raise SnapshotError(f"{e.label}{at}: {e.problem}", fix=e.hint) from None
        self.files += 1
        try:
            self._add(value, label, "")
        except ResourceFormatError as e:
            raise SnapshotError(f"{self.folder / label}: {e}") from None

    def _add(self, value: Any, label: str, where: str) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                self._add(item, label, f"{where}[{i}]")
            return
        at = f"{where}: " if where else ""
        if not isinstance(value, dict):
            raise ResourceFormatError(f"{at}expected {SHAPES}; got {type(value).__name__}")
        if "error" in value:
            self._add_error(value, at)
        elif isinstance(value.get("value"), list) and "properties" not in value:
            self._add_envelope(value, label, where)
        elif "namespace" in value and "registrationState" in value:
            self.providers.setdefault(str(value["namespace"]).lower(), []).append(value)
        elif isinstance(value.get("id"), str) and value["id"].startswith("/"):
            self._add_resource(value, label, at)
        else:
            raise ResourceFormatError(f"{at}expected {SHAPES}; this object has none of those keys")

    def _add_error(self, value: Doc, at: str) -> None:
        err = value.get("error")
        rid = value.get("id")
        if not isinstance(rid, str) or not isinstance(err, dict) or not isinstance(err.get("code"), str):
            raise ResourceFormatError(
                f'{at}an error document needs "id" (what was read) and "error": {{"code", "message"}}'
            )
        self.errors[_key(rid)] = (value.get("status"), err["code"], str(err.get("message", "")))

    def _add_envelope(self, value: Doc, label: str, where: str) -> None:
        eid = value.get("id")
        items = value["value"]
        if isinstance(eid, str) and _key(eid).endswith(_PERMISSIONS_SUFFIX):
            for i, block in enumerate(items):
                if not isinstance(block, dict):
                    raise ResourceFormatError(f"{where}value[{i}]: expected a permission block object")
        else:
            for i, item in enumerate(items):
                self._add(item, label, f"{where}value[{i}]")
        if isinstance(eid, str):
            self.envelopes[_key(eid)] = items

    def _add_resource(self, doc: Doc, label: str, at: str) -> None:
        rtype = _type_of(doc)
        key = _key(doc["id"])
        if key in self.docs:
            if self.docs[key] != doc:
                raise ResourceFormatError(
                    f"{at}{doc['id']} is also in {self.origin[key]} with other content; keep one of them"
                )
            return
        self.docs[key] = doc
        self.origin[key] = label
        self.where[key] = at
        self.by_type.setdefault(rtype, []).append(doc)
        if rtype == "microsoft.network/virtualnetworks":
            for s in props(doc).get("subnets") or []:
                sub = _embedded_subnet(doc, s)
                self.embedded.setdefault(_key(sub["id"]), sub)

    def explain(self, exc: Exception) -> Exception:
        """Which file holds the document a check could not read: parse each again until one fails.

        Parsing is deferred to the checks (a 10,000-rule policy is compiled once, not twice); a
        malformed document is rare, so finding its file then costs nothing on the usual path.
        """
        for key, doc in self.docs.items():
            try:
                _validate(doc, _type_of(doc))
            except ResourceFormatError as e:
                return SnapshotError(f"{self.folder / self.origin[key]}: {self.where[key]}{e}")
        return SnapshotError(f"{self.folder}: {exc}")

    # ---- answering

    def _error(self, path: str) -> tuple[Any, str, str] | None:
        return self.errors.get(_key(path))

    def _missing(self, what: str) -> Unavailable:
        return Unavailable(f"{what} is not in the snapshot")

    def _from_error(self, path: str) -> Unavailable | None:
        """None when the error records absence; an Unavailable when it records a refusal."""
        status, code, message = self.errors[_key(path)]
        if _is_not_found(status, code):
            return None
        return Unavailable(message, code, status if isinstance(status, int) else None)

    def resource(self, rid: str) -> Doc | None:
        key = _key(rid)
        if key in self.docs:
            return self.docs[key]
        if key in self.embedded:
            return self.embedded[key]
        if key in self.errors:
            refused = self._from_error(rid)
            if refused is None:
                return None
            raise refused
        if _type_from_id(rid) == _ROLE_ASSIGNMENTS and self._has_role_assignments():
            return None  # the folder lists role assignments, and this one is not among them
        if _type_from_id(rid) == _ROLE_DEFINITIONS:
            # Built-in roles have one GUID everywhere; `az role definition list` may show another scope.
            guid = key.rsplit("/", 1)[-1]
            for d in self.by_type.get(_ROLE_DEFINITIONS, []):
                if _key(id_of(d)).rsplit("/", 1)[-1] == guid:
                    return d
        raise self._missing(rid)

    def provider(self, subscription: str, namespace: str) -> Doc | None:
        docs = self.providers.get(namespace.lower(), [])
        mine = [d for d in docs if _subscription_of(str(d.get("id", ""))) in (subscription.lower(), None)]
        if mine or docs:
            return (mine or docs)[0]
        path = provider_path(subscription, namespace)
        if self._error(path):
            refused = self._from_error(path)
            if refused is None:
                return None
            raise refused
        raise self._missing(f"the registration of provider {namespace}")

    def _listing(self, path: str) -> list[Any] | None:
        """The envelope read from ``path``, [] for a recorded 404, None when the folder has neither."""
        key = _key(path)
        if key in self.envelopes:
            return list(self.envelopes[key])
        if key in self.errors:
            refused = self._from_error(path)
            if refused is None:
                return []
            raise refused
        return None

    def firewalls(self, subscription: str) -> list[Doc]:
        # Every firewall in the folder, whatever its subscription: hubs often live in another one.
        listed = self._listing(firewalls_path(subscription))
        found = list(self.by_type.get("microsoft.network/azurefirewalls", []))
        if listed:
            found += [d for d in listed if isinstance(d, dict) and d not in found]
        return found

    def _has_role_assignments(self) -> bool:
        return bool(self.by_type.get(_ROLE_ASSIGNMENTS)) or any(
            k.endswith("/providers/microsoft.authorization/roleassignments") for k in self.envelopes
        )

    def role_assignments(self, subscription: str, principal_id: str) -> list[Doc]:
        listed = self._listing(role_assignments_path(subscription))
        docs = self.by_type.get(_ROLE_ASSIGNMENTS, [])
        if listed is None and not self._has_role_assignments():
            raise self._missing("the role assignments of the subscription")
        pid = principal_id.lower()
        return [d for d in docs if str(props(d).get("principalId", "")).lower() == pid]

    def permissions(self, scope: str) -> list[Doc]:
        listed = self._listing(permissions_path(scope))
        if listed is None:
            raise self._missing(f"the caller's permissions at {scope}")
        return listed

    def image_versions(self, subscription: str, location: str, publisher: str, offer: str, sku: str) -> list[Doc]:
        path = image_versions_path(subscription, location, publisher, offer, sku)
        listed = self._listing(path)
        if listed is not None:
            return listed
        prefix = _key(path) + "/"
        found = [d for k, d in self.docs.items() if k.startswith(prefix)]
        if found:
            return found
        raise self._missing(f"the versions of image {publisher}:{offer}:{sku} in {location}")


def load_snapshot(folder: str | Path) -> FolderSource:
    root = Path(folder)
    if not root.is_dir():
        raise SnapshotError(
            f"--snapshot {folder}: not a folder",
            fix="Give the folder `aks-jumpbox snapshot --out DIR` wrote (or one of ARM JSON documents).",
        )
    src = FolderSource(root)
    for path in sorted(root.rglob(DOCUMENT_GLOB)):
        if path.is_dir():  # a folder named *.json (rglob does not descend into folder links)
            continue
        # A link that leads out of the folder is refused, not read; a FIFO or device is refused by add_file.
        confined(root, path.relative_to(root).as_posix())
        src.add_file(path)
    if src.files == 0:
        raise SnapshotError(
            f"--snapshot {folder}: holds no *.json files",
            fix="Write one with `aks-jumpbox snapshot --out DIR`, or put ARM JSON documents there.",
        )
    return src


# ---- writing


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "x"


def _file_name(prefix: str, path: str) -> str:
    digest = hashlib.sha256(_key(path).encode()).hexdigest()[:8]
    rtype = _type_from_id(path).rsplit("/", 1)[-1] or "item"
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return f"{prefix}{_slug(rtype)}--{_slug(name)}--{digest}"


def document_file(path: str, *, listing: str | None = None) -> str:
    """The file a document read from ``path`` (an ARM ID or REST path) is written to: the resource itself, or
    with ``listing`` (an answer kind) the list envelope of that collection."""
    prefix = f"list-{listing.replace('_', '-')}--" if listing else ""
    return _file_name(prefix, path) + ".json"


def _document(answer: Answer) -> tuple[str, Any]:
    value = answer.value
    if isinstance(value, Unavailable):
        return _file_name("error--", answer.path), {
            "id": answer.path,
            "status": value.status,
            "error": {"code": value.code or "Unavailable", "message": value.message},
        }
    if value is None:
        return _file_name("missing--", answer.path), {
            "id": answer.path,
            "status": 404,
            "error": {"code": "NotFound", "message": f"{answer.path} does not exist"},
        }
    if isinstance(value, list):
        return document_file(answer.path, listing=answer.kind).removesuffix(".json"), {
            "id": answer.path,
            "value": value,
        }
    return document_file(id_of(value) or answer.path).removesuffix(".json"), value


def write_snapshot(answers: Iterable[Answer], out: str | Path, *, replace: bool = False) -> list[Path]:
    """Write each answer as one file of the folder format above; returns the files written."""
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise SnapshotError(f"--out {out}: exists and is not a folder")
    old = sorted(p for p in root.rglob(DOCUMENT_GLOB) if p.is_symlink() or not p.is_dir()) if root.is_dir() else []
    if old and not replace:
        raise SnapshotError(
            f"--out {out}: already holds {len(old)} JSON files, which `check --snapshot` would read too",
            fix="Choose a new folder, or pass --replace to delete its *.json files first.",
        )
    for p in old:
        try:
            p.unlink()  # removes a link itself, never what it points at
        except OSError as e:
            raise SnapshotError(
                f"--out {out}: cannot delete {p} ({e.strerror})", fix="Fix its permissions, or choose a new folder."
            ) from None
    ensure_dir(root)
    written: list[Path] = []
    used: set[str] = set()
    for answer in answers:
        stem, doc = _document(answer)
        name, n = f"{stem}.json", 1
        while name in used:  # e.g. the role assignments of two principals: one listing each
            n += 1
            name = f"{stem}-{n}.json"
        used.add(name)
        written.append(write_atomic(root, name, json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n"))
    return written
