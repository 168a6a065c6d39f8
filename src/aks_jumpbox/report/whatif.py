"""What `deploy --what-if` shows: per resource the change, per property path the old and the new value.

The result has the shape of ARM's own what-if (https://learn.microsoft.com/rest/api/resources/deployments/what-if,
which `az deployment group what-if` prints: https://learn.microsoft.com/azure/azure-resource-manager/templates/deploy-what-if):
a list of resource changes (WhatIfChange: resourceId, changeType, delta), each delta entry a property
change (WhatIfPropertyChange: path, propertyChangeType Create / Delete / Modify / Array / NoEffect,
before, after, children). The symbols are az's: + Create, - Delete, ~ Modify, ! Deploy, = NoChange,
* Ignore, x NoEffect; ? marks Unsupported.

How deploy's own actions (azure/apply.py) map to ARM's change types:
  create -> Create; unchanged -> NoChange; differs, update-tags -> Modify; replace (delete, then create:
  a role assignment of a re-created identity, a failed template) -> Deploy; conflict (an immutable
  template changed outside this tool: deploy stops) -> Unsupported; skip (left to Image Builder) -> Ignore.
A resource created only when absent keeps what it has: its differences are NoEffect.

Arrays are compared item by item: lists whose order Azure does not keep (a role's actions) as sets,
the others by a longest-common-subsequence alignment, so an inserted item is one `+` line, never a
whole array cut off before the difference. Role definitions and assignments, named by GUIDs, are shown
by what people know them by: the role's name, the principal (the plan's managed identity) and the scope.

Pure: a function of the plan and the changes what-if found (read by duck typing: resource, action,
differences, note), so it is tested without Azure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aks_jumpbox.core import kinds
from aks_jumpbox.core.drift import MISSING, UNKNOWN, Difference, differences, dig, is_set_like
from aks_jumpbox.core.model import Plan, Ref, Resource
from aks_jumpbox.core.spec import azure_facts

CHANGE_TYPE = {
    "create": "Create",
    "unchanged": "NoChange",
    "differs": "Modify",
    "update-tags": "Modify",
    "replace": "Deploy",
    "conflict": "Unsupported",
    "skip": "Ignore",
}
SYMBOL = {
    "Create": "+",
    "Delete": "-",
    "Modify": "~",
    "Deploy": "!",
    "NoChange": "=",
    "Ignore": "*",
    "NoEffect": "x",
    "Unsupported": "?",
    "Array": "~",
}
# Change types that mean deploy would write something (what `--exit-code` reports).
WRITES = frozenset({"Create", "Modify", "Deploy", "Delete"})
_ORDER = ("Create", "Modify", "Deploy", "Unsupported", "Ignore", "NoChange")
_VERB = {
    "Create": "to create",
    "Modify": "to modify",
    "Deploy": "to replace",
    "Unsupported": "in conflict",
    "Ignore": "left to Image Builder",
    "NoChange": "no change",
}


@dataclass(frozen=True)
class PropertyChange:
    """A WhatIfPropertyChange. `path` is the dotted property path, or an item's index inside an Array."""

    path: str
    change_type: str  # Create | Delete | Modify | Array | NoEffect
    before: Any = None
    after: Any = None
    children: tuple[PropertyChange, ...] = ()
    # An array item's index in the live (before) list, for Modify and Delete; `path` is the planned index.
    before_index: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "propertyChangeType": self.change_type}
        if self.change_type != "Create":
            out["before"] = _json_value(self.before)
        if self.change_type != "Delete":
            out["after"] = _json_value(self.after)
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        return out


@dataclass(frozen=True)
class ResourceChange:
    """A WhatIfChange, with the plan's key, deploy's own action and the names people know it by."""

    key: str
    resource_id: str
    type: str
    name: str
    action: str
    change_type: str
    display: str  # 'custom role "[aks-jumpbox] …"', 'role assignment …', 'image template it-…'
    delta: tuple[PropertyChange, ...] = ()
    note: str | None = None
    role: str | None = None  # role assignments: the role's name
    principal: str | None = None  # role assignments: who gets it
    scope: str | None = None  # role assignments: where

    @property
    def writes(self) -> bool:
        return self.change_type in WRITES

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "resourceId": self.resource_id,
            "changeType": self.change_type,
            "displayName": self.display,
            "delta": [d.to_json() for d in self.delta],
        }
        if self.change_type == "Unsupported":
            out["unsupportedReason"] = self.note
        if self.role is not None:
            out.update({"roleName": self.role, "principal": self.principal, "scope": self.scope})
        return out


@dataclass(frozen=True)
class WhatIfResult:
    changes: tuple[ResourceChange, ...]

    @property
    def changed(self) -> bool:
        """Deploy would write something."""
        return any(c.writes for c in self.changes)

    @property
    def conflict(self) -> bool:
        return any(c.change_type == "Unsupported" for c in self.changes)

    def counts(self) -> dict[str, int]:
        out = {t: 0 for t in _ORDER}
        for c in self.changes:
            out[c.change_type] = out.get(c.change_type, 0) + 1
        return out

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{counts[t]} {_VERB[t]}" for t in _ORDER if counts.get(t)]
        return "Resource changes: " + (", ".join(parts) if parts else "none") + "."


# ---- property changes


def _json_value(value: Any) -> Any:
    if value is MISSING:
        return None
    if isinstance(value, Ref):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _last_key(path: str) -> str:
    return path.rsplit(".", 1)[-1].split("[", 1)[0]


def property_changes(diffs: Iterable[Difference], *, no_effect: bool = False) -> tuple[PropertyChange, ...]:
    """drift's differences as property changes; arrays diffed by item. `no_effect`: deploy would not
    apply them (a resource created only when absent)."""
    out = []
    for d in diffs:
        change = _property_change(d.path, d.planned, d.live)
        if no_effect:
            change = PropertyChange(d.path, "NoEffect", _json_value(d.live), d.planned)
        out.append(change)
    return tuple(out)


def _property_change(path: str, planned: Any, live: Any) -> PropertyChange:
    if live is MISSING:
        return PropertyChange(path, "Create", None, planned)
    if isinstance(planned, list | tuple) and isinstance(live, list):
        children = array_changes(list(planned), live, ordered=not is_set_like(_last_key(path)))
        if children:
            return PropertyChange(path, "Array", live, list(planned), children)
    return PropertyChange(path, "Modify", live, planned)


def _same(planned: Any, live: Any) -> bool:
    """One item equals another as deploy sees it: the fields the plan sets (drift's rules)."""
    return not differences(planned, live)


def _lcs_pairs(planned: Sequence[Any], live: Sequence[Any]) -> list[tuple[int, int]]:
    """Index pairs (planned, live) of a longest common subsequence. Lists here are short (a few
    dozen items at most), so the quadratic table is fine."""
    n, m = len(planned), len(live)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if _same(planned[i], live[j]):
                table[i][j] = table[i + 1][j + 1] + 1
            else:
                table[i][j] = max(table[i + 1][j], table[i][j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if _same(planned[i], live[j]) and table[i][j] == table[i + 1][j + 1] + 1:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def array_changes(planned: list[Any], live: list[Any], *, ordered: bool = True) -> tuple[PropertyChange, ...]:
    """The item changes that turn `live` into `planned`: unchanged items are left out.

    Unordered (set-like) lists: each live item not planned is a Delete, each planned item not live a
    Create. Ordered lists: items outside the longest common subsequence, a deleted and an inserted
    item at the same place paired as one Modify (with the item's own property changes when both are
    objects)."""
    if not ordered:
        out = [
            PropertyChange(str(j), "Delete", v, before_index=j)
            for j, v in enumerate(live)
            if not any(_same(p, v) for p in planned)
        ]
        out += [
            PropertyChange(str(i), "Create", None, p)
            for i, p in enumerate(planned)
            if not any(_same(p, v) for v in live)
        ]
        return tuple(out)
    out = []
    i = j = 0
    for pi, lj in [*_lcs_pairs(planned, live), (len(planned), len(live))]:
        added, removed = list(range(i, pi)), list(range(j, lj))
        for a, r in zip(added, removed, strict=False):
            p, v = planned[a], live[r]
            nested = property_changes(differences(p, v)) if isinstance(p, dict) and isinstance(v, dict) else ()
            out.append(PropertyChange(str(a), "Modify", v, p, nested, before_index=r))
        out += [PropertyChange(str(r), "Delete", live[r], before_index=r) for r in removed[len(added) :]]
        out += [PropertyChange(str(a), "Create", None, planned[a]) for a in added[len(removed) :]]
        i, j = pi + 1, lj + 1
    return tuple(out)


# ---- names for GUID-named resources


class Names:
    """What people call the plan's GUID-named resources: role definitions by their role names, the
    identity whose principal an assignment names, built-in roles by their names (data/azure.yaml)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.roles: dict[str, str] = {}
        for role in azure_facts().get("builtin_roles", {}).values():
            self.roles[str(role["id"]).lower()] = str(role["name"])
        for r in plan.resources:
            if r.type == kinds.ROLE_DEFINITION.arm_type:
                name = dig(r.body, "properties.roleName")
                if isinstance(name, str):
                    self.roles[r.name.lower()] = name
                    self.roles[r.id.lower()] = name

    def role(self, role_definition_id: Any) -> str | None:
        if not isinstance(role_definition_id, str):
            return None
        text = role_definition_id.strip().lower()
        return self.roles.get(text) or self.roles.get(text.rsplit("/", 1)[-1])

    def principal(self, value: Any) -> str:
        if isinstance(value, Ref):
            try:
                r = self.plan.resource(value.resource_key)
            except KeyError:
                return UNKNOWN
            return f"{_label(r.type)} {r.name}"
        return f"principal {value}" if isinstance(value, str) else "principal (unknown)"

    def describe(self, value: Any) -> str:
        """A value for a person: JSON, with a role definition ID's role name and a Ref's resource."""
        if isinstance(value, Ref):
            return f"{UNKNOWN}: {value.path.rsplit('.', 1)[-1]} of {self.principal(value)}"
        text = json.dumps(_json_value(value), ensure_ascii=False, sort_keys=True)
        role = self.role(value) if isinstance(value, str) and "roledefinitions/" in value.lower() else None
        return f"{text} ({role})" if role else text


def _label(rtype: str) -> str:
    kind = kinds.KINDS.get(rtype)
    return kind.label if kind is not None else rtype


def scope_label(scope: str) -> str:
    """'subscription 0000…', 'resource group rg-images', 'Microsoft.Network/virtualNetworks vnet-a in rg-network'."""
    parts = [p for p in scope.split("/") if p]
    if len(parts) == 2 and parts[0].lower() == "subscriptions":
        return f"subscription {parts[1]}"
    if len(parts) == 4 and parts[2].lower() == "resourcegroups":
        return f"resource group {parts[3]}"
    if len(parts) >= 8 and parts[4].lower() == "providers":
        rtype = "/".join([parts[5], *parts[6::2]])
        return f"{_label(rtype)} {parts[-1]} in resource group {parts[3]}"
    return scope


def _display(r: Resource, names: Names) -> tuple[str, str | None, str | None, str | None]:
    """(display name, role, principal, scope) of a planned resource."""
    label = _label(r.type)
    if r.type == kinds.ROLE_ASSIGNMENT.arm_type:
        props = r.body.get("properties") or {}
        role = names.role(props.get("roleDefinitionId")) or str(props.get("roleDefinitionId"))
        principal = names.principal(props.get("principalId"))
        scope = scope_label(r.scope)
        return f'{label} "{role}" for {principal} on {scope}', role, principal, scope
    kind = kinds.KINDS.get(r.type)
    title = dig(r.body, kind.title) if kind is not None and kind.title else MISSING
    if isinstance(title, str) and title:
        return f'{label} "{title}"', None, None, None
    return f"{label} {r.name}", None, None, None


def what_if_result(plan: Plan, changes: Iterable[Any]) -> WhatIfResult:
    """The what-if result of azure/apply.py's changes (each: resource, action, differences, note)."""
    names = Names(plan)
    out = []
    for c in changes:
        r = c.resource
        change_type = CHANGE_TYPE.get(c.action, "Unsupported")
        no_effect = change_type == "NoChange" and bool(c.differences)
        delta = () if change_type in ("Create", "Ignore") else property_changes(c.differences, no_effect=no_effect)
        display, role, principal, scope = _display(r, names)
        out.append(
            ResourceChange(
                key=r.key,
                resource_id=r.id,
                type=r.type,
                name=r.name,
                action=c.action,
                change_type=change_type,
                display=display,
                delta=delta,
                note=c.note,
                role=role,
                principal=principal,
                scope=scope,
            )
        )
    return WhatIfResult(tuple(out))


# ---- text


@dataclass(frozen=True)
class Line:
    """One line of the text view: `symbol` (a change type's, or '' for prose) at `depth`."""

    depth: int
    symbol: str
    text: str
    kind: str = ""  # the change type the symbol stands for, for colouring


@dataclass
class _Writer:
    names: Names
    lines: list[Line] = field(default_factory=list)

    def add(self, depth: int, kind: str, text: str) -> None:
        self.lines.append(Line(depth, SYMBOL.get(kind, ""), text, kind))

    def prop(self, depth: int, c: PropertyChange, label: str) -> None:
        describe = self.names.describe
        if c.change_type == "Create":
            self.add(depth, "Create", f"{label}: {describe(c.after)}")
        elif c.change_type == "Delete":
            self.add(depth, "Delete", f"{label}: {describe(c.before)}")
        elif c.change_type == "Array":
            self.add(depth, "Modify", f"{label}: [")
            for child in c.children:
                self.prop(depth + 2, child, f"[{child.path}]")
            self.add(depth + 2, "", "]")
        elif c.change_type == "NoEffect":
            self.add(depth, "NoEffect", f"{label}: {describe(c.before)} (kept: deploy does not change it)")
        elif c.children:
            self.add(depth, "Modify", f"{label}:")
            for child in c.children:
                self.prop(depth + 2, child, child.path)
        else:
            self.add(depth, "Modify", f"{label}:")
            self.add(depth + 2, "Delete", describe(c.before))
            self.add(depth + 2, "Create", describe(c.after))


def text_lines(plan: Plan, result: WhatIfResult, *, show_unchanged: bool = False) -> list[Line]:
    """The what-if as lines for a person: each changed resource with its property changes, `-` old and
    `+` new, then a summary line. Unchanged resources are listed by name only (or not, by default)."""
    w = _Writer(Names(plan))
    for c in result.changes:
        if c.change_type == "NoChange" and not c.delta and not show_unchanged:
            continue
        w.add(0, c.change_type, f"{c.display}  [{c.action}]")
        w.add(2, "", f"id: {c.resource_id}")
        if c.note:
            w.add(2, "", c.note)
        for d in c.delta:
            w.prop(2, d, d.path)
    w.add(0, "", result.summary())
    return w.lines


def render_line(line: Line) -> str:
    pad = " " * line.depth
    return f"{pad}{line.symbol} {line.text}" if line.symbol else f"{pad}{line.text}"
