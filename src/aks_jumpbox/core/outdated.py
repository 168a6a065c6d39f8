"""Which pins have fallen behind, and which are deprecated, near end of support or due for review.

Pure: the newest releases come in as data (core/releases.py fetches them), and `today` is an
argument, so the same inputs always give the same answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from aks_jumpbox.core.catalog import Catalog
from aks_jumpbox.core.lock import Lock
from aks_jumpbox.core.releases import AZURE_CLI, Newest, version_key
from aks_jumpbox.core.spec import Spec


@dataclass(frozen=True)
class Flag:
    kind: str  # deprecated | end-of-support | review | api-version | not-locked | source-error
    message: str


@dataclass(frozen=True)
class Row:
    kind: str  # tool | azure-cli | base-image | api-version
    name: str
    pinned: str
    newest: str | None
    flags: tuple[Flag, ...] = field(default=())

    @property
    def status(self) -> str:
        if self.kind in ("tool", "azure-cli"):
            if self.newest is None:
                return "unknown"
            return "outdated" if version_key(self.newest) > version_key(self.pinned) else "current"
        if self.kind == "base-image":
            return "outdated" if self.newest and self.newest != self.pinned else "current"
        return "retiring"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "pinned": self.pinned,
            "newest": self.newest,
            "status": self.status,
            "flags": [{"kind": f.kind, "message": f.message} for f in self.flags],
        }


def review_flags(spec: Spec, today: dt.date) -> dict[str, Flag]:
    """tools.NAME -> a flag for every pin whose review_by date has passed (also used by `check`)."""
    out = {}
    for name, pin in sorted(spec.tools.items()):
        if pin.review_by is not None and pin.review_by < today:
            why = f" (pinned because: {pin.reason})" if pin.reason else ""
            out[name] = Flag(
                "review",
                f"tools.{name}: review_by {pin.review_by.isoformat()} has passed{why}; "
                "review the pin and move review_by forward, or upgrade it",
            )
    return out


def _base_image_row(spec: Spec, catalog: Catalog, today: dt.date) -> Row:
    image = catalog.base_images[spec.base_image]
    family = [b for b in catalog.base_images.values() if b.family == image.family]
    newest = max(family, key=lambda b: b.end_of_standard_support)
    end = dt.date.fromisoformat(image.end_of_standard_support)
    flags = []
    days = (end - today).days
    if days < 0:
        flags.append(
            Flag("end-of-support", f"{image.title}: standard support ended on {end}; move base_image to {newest.key}")
        )
    elif days <= catalog.warn_days_before_end_of_support:
        flags.append(
            Flag(
                "end-of-support",
                f"{image.title}: standard support ends on {end} (in {days} days); plan the move to {newest.key}",
            )
        )
    return Row("base-image", spec.base_image, spec.base_image, newest.key, tuple(flags))


def _api_rows(facts: dict[str, Any], today: dt.date) -> list[Row]:
    used = facts.get("api_versions", {})
    rows = []
    for entry in facts.get("api_version_retirements", ()):
        version = used.get(entry["type"])
        if version not in entry["versions"]:
            continue
        retires = entry.get("retires")
        if retires is None:
            when = "is deprecated"
        elif dt.date.fromisoformat(str(retires)) < today:
            when = f"was retired on {retires}"
        else:
            when = f"retires on {retires}"
        msg = f"{entry['type']} api-version {version} {when}: {entry['note']}; upgrade aks-jumpbox"
        rows.append(Row("api-version", entry["type"], version, None, (Flag("api-version", msg),)))
    return rows


def outdated(
    spec: Spec, lock: Lock, catalog: Catalog, facts: dict[str, Any], newest: dict[str, Newest], today: dt.date
) -> list[Row]:
    reviews = review_flags(spec, today)
    rows = []
    for name in sorted(spec.tools):
        pin = spec.tools[name]
        flags = []
        tool = catalog.tool(name)
        if tool.deprecated:
            flags.append(Flag("deprecated", tool.deprecated))
        if name in reviews:
            flags.append(reviews[name])
        if lock.get(name, pin.version) is None:
            flags.append(Flag("not-locked", f"tools.{name} {pin.version} is not in the lock; run `aks-jumpbox lock`"))
        n = newest.get(name)
        if n is not None and n.error:
            flags.append(Flag("source-error", n.error))
        rows.append(Row("tool", name, pin.version, n.version if n else None, tuple(flags)))
    n = newest.get(AZURE_CLI)
    cli_flags = (Flag("source-error", n.error),) if n is not None and n.error else ()
    rows.append(Row("azure-cli", AZURE_CLI, spec.azure_cli.version, n.version if n else None, cli_flags))
    rows.append(_base_image_row(spec, catalog, today))
    return rows + _api_rows(facts, today)


@dataclass(frozen=True)
class SourceCounts:
    """How many release sources were asked, and how many could not be reached or read."""

    total: int
    unreachable: int
    unreadable: int
    first_unreachable: Newest | None

    @property
    def unknown(self) -> int:
        return self.unreachable + self.unreadable

    def summary(self) -> str:
        parts = [f"{self.unreachable} of {self.total} sources unreachable"] if self.unreachable else []
        if self.unreadable:
            parts.append(f"{self.unreadable} of {self.total} sources unreadable")
        return ", ".join(parts)

    def to_json(self) -> dict[str, int]:
        return {"total": self.total, "unreachable": self.unreachable, "unreadable": self.unreadable}


def source_counts(newest: dict[str, Newest]) -> SourceCounts:
    """Whether `outdated` could tell at all: a pin whose source was not read is unknown, never current."""
    found = [newest[k] for k in sorted(newest)]
    down = [n for n in found if n.unreachable]
    bad = [n for n in found if n.error and not n.unreachable]
    return SourceCounts(len(found), len(down), len(bad), down[0] if down else None)


@dataclass(frozen=True)
class UpgradeChoice:
    changes: dict[str, tuple[str, str]]  # pin name -> (pinned, newest)
    held: dict[str, str]  # pin name -> why it stays


def choose_upgrades(spec: Spec, newest: dict[str, Newest], names: tuple[str, ...], today: dt.date) -> UpgradeChoice:
    """Which pins `lock --upgrade` moves forward.

    Named pins move whenever a newer release exists. With no names, every pin does, except one
    that carries a reason and whose review date has not come (or that has no review date): it
    was pinned on purpose.
    """
    pinned = {name: pin.version for name, pin in spec.tools.items()} | {AZURE_CLI: spec.azure_cli.version}
    changes, held = {}, {}
    for name in names or tuple(sorted(pinned)):
        n = newest.get(name)
        if n is None or n.version is None:
            held[name] = n.error if n and n.error else "no release found"
            continue
        if version_key(n.version) <= version_key(pinned[name]):
            continue
        pin = spec.tools.get(name)
        if not names and pin is not None and pin.reason and (pin.review_by is None or pin.review_by >= today):
            until = f" until {pin.review_by}" if pin.review_by else ""
            held[name] = f"pinned{until} because: {pin.reason} (name it to upgrade anyway; {n.version} is out)"
            continue
        changes[name] = (pinned[name], n.version)
    return UpgradeChoice(changes, held)
