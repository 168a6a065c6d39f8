"""Compare two software reports: what was added, removed or changed between two images."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aks_jumpbox.adapters.files import REPORT_LIMIT, load_json, read_input
from aks_jumpbox.core.errors import UserError
from aks_jumpbox.report.software import REPORT_SCHEMA

REPORT_FILE = "software-report.json"


@dataclass(frozen=True)
class Change:
    name: str
    before: str | None  # None: added
    after: str | None  # None: removed


@dataclass(frozen=True)
class Section:
    title: str
    changes: tuple[Change, ...] = ()
    compared: bool = True  # False when one side does not list this kind of software

    def of(self, kind: str) -> list[Change]:
        pick = {
            "added": lambda c: c.before is None,
            "removed": lambda c: c.after is None,
            "changed": lambda c: c.before is not None and c.after is not None,
        }[kind]
        return [c for c in self.changes if pick(c)]

    def to_json(self) -> dict[str, Any]:
        return {
            "compared": self.compared,
            "added": [{"name": c.name, "version": c.after} for c in self.of("added")],
            "removed": [{"name": c.name, "version": c.before} for c in self.of("removed")],
            "changed": [{"name": c.name, "from": c.before, "to": c.after} for c in self.of("changed")],
        }


@dataclass(frozen=True)
class ReportDiff:
    before: str
    after: str
    sections: dict[str, Section] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(s.changes for s in self.sections.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "aks-jumpbox/report-diff/v1",
            "before": self.before,
            "after": self.after,
            **{k: s.to_json() for k, s in self.sections.items()},
        }


def load_report(path: str | Path) -> tuple[dict[str, Any], str]:
    """A report from a JSON file, or from software-report.json in a directory."""
    p = Path(path)
    if p.is_dir():
        p = p / REPORT_FILE
    label = str(p)
    fix = "Pass a software-report.json written by `aks-jumpbox report`."
    text = read_input(
        p, what="software report", limit=REPORT_LIMIT, missing_fix="Write one with `aks-jumpbox report --out DIR`."
    )
    doc = load_json(text, label, fix=fix)
    if not isinstance(doc, dict) or doc.get("schema") != REPORT_SCHEMA:
        raise UserError(
            f"{label}: not an {REPORT_SCHEMA} report.",
            fix="Pass a software-report.json written by `aks-jumpbox report`.",
        )
    problem = _shape_problem(doc)
    if problem:
        raise UserError(f"{label}: {problem}.", fix=fix)
    return doc, label


def _text(value: Any, optional: bool = False) -> bool:
    """One line of printable text (what the diff prints): a report from elsewhere cannot drive a terminal."""
    if value is None:
        return optional
    return isinstance(value, str) and len(value) <= 1000 and value.isprintable()


def _shape_problem(doc: dict[str, Any]) -> str | None:
    """What the diff reads of a report, checked before it is read: the first field that is not as
    `aks-jumpbox report` writes it, or None."""
    base, cli = doc.get("baseImage"), doc.get("azureCli")
    if not isinstance(base, dict) or not _text(base.get("urn")):
        return "baseImage.urn: expected the base image's URN"
    if not isinstance(cli, dict) or not _text(cli.get("package")) or not _text(cli.get("version")):
        return "azureCli: expected an object with package and version"
    lists = {
        "azureCli.extensions": (cli.get("extensions"), ("name",), ("version",)),
        "tools": (doc.get("tools"), ("name", "version"), ("sha256",)),
        "packages": (doc.get("packages"), ("name", "version", "arch"), ()),
    }
    for where, (items, required, optional) in lists.items():
        if items is None and where == "packages":
            continue  # a report made without a build log
        if not isinstance(items, list):
            return f"{where}: expected a list"
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                return f"{where}[{i}]: expected an object"
            for key in required + optional:
                if not _text(item.get(key), optional=key in optional):
                    return f"{where}[{i}].{key}: expected one line of printable text"
    return None


def _compare(title: str, a: dict[str, str] | None, b: dict[str, str] | None) -> Section:
    if a is None or b is None:
        return Section(title, compared=False)
    changes = [Change(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return Section(title, tuple(changes))


def _tools(a: dict[str, Any], b: dict[str, Any]) -> Section:
    """By version; a changed digest under the same version also counts (a re-published artifact)."""
    va = {t["name"]: t for t in a["tools"]}
    vb = {t["name"]: t for t in b["tools"]}

    def label(t: dict[str, Any], other: dict[str, Any] | None) -> str:
        digest = other["sha256"] if other is not None and other["version"] == t["version"] else None
        if t["sha256"] and digest and t["sha256"] != digest:
            return f"{t['version']} (sha256 {t['sha256'][:12]})"
        return t["version"]

    return _compare(
        "Tools", {k: label(t, vb.get(k)) for k, t in va.items()}, {k: label(t, va.get(k)) for k, t in vb.items()}
    )


def _packages(r: dict[str, Any]) -> dict[str, str] | None:
    if r.get("packages") is None:
        return None
    multi = {p["name"] for p in r["packages"] if sum(q["name"] == p["name"] for q in r["packages"]) > 1}
    return {(f"{p['name']}:{p['arch']}" if p["name"] in multi else p["name"]): p["version"] for p in r["packages"]}


def diff_reports(a: dict[str, Any], b: dict[str, Any], label_a: str = "A", label_b: str = "B") -> ReportDiff:
    cli_a, cli_b = a["azureCli"], b["azureCli"]
    sections = {
        "baseImage": _compare(
            "Base image", {"base image": a["baseImage"]["urn"]}, {"base image": b["baseImage"]["urn"]}
        ),
        "azureCli": _compare("Azure CLI", {cli_a["package"]: cli_a["version"]}, {cli_b["package"]: cli_b["version"]}),
        "extensions": _compare(
            "Azure CLI extensions",
            {e["name"]: e["version"] or "newest" for e in cli_a["extensions"]},
            {e["name"]: e["version"] or "newest" for e in cli_b["extensions"]},
        ),
        "tools": _tools(a, b),
        "packages": _compare("Apt packages", _packages(a), _packages(b)),
    }
    return ReportDiff(label_a, label_b, sections)


def diff_text(d: ReportDiff, markdown: bool = False) -> str:
    """Lines for people; with markdown=True, a section per kind for release notes."""
    out = [f"{'## ' if markdown else ''}{d.before} -> {d.after}", ""]
    if d.empty:
        return "\n".join(out + ["No differences in tools, Azure CLI, base image or packages."]) + "\n"
    for s in d.sections.values():
        if not s.compared:
            out += [f"{'### ' if markdown else ''}{s.title}: not compared (a report was made without a build log)", ""]
            continue
        if not s.changes:
            continue
        out.append(f"{'### ' if markdown else ''}{s.title}")
        bullet = "- " if markdown else "  "
        for c in s.of("changed"):
            out.append(f"{bullet}~ {c.name} {c.before} -> {c.after}")
        for c in s.of("added"):
            out.append(f"{bullet}+ {c.name} {c.after}")
        for c in s.of("removed"):
            out.append(f"{bullet}- {c.name} {c.before}")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
