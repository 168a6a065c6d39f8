"""Warnings about other specs' resources (azure/footprint.py): one line each, on stderr, in every output mode."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aks_jumpbox.cli.present import console, esc

if TYPE_CHECKING:
    from aks_jumpbox.azure.clients import Azure
    from aks_jumpbox.azure.footprint import Survey
    from aks_jumpbox.core.model import Plan


def warn_foreign(lines: Iterable[str]) -> None:
    con = console(stderr=True)
    for line in lines:
        con.print(f"[yellow]warning:[/] {esc(line)}", soft_wrap=True)


def before_deploy(az: Azure, plan: Plan) -> Survey:
    """What `deploy` (and `build`, which deploys) warns about: other specs' resources it leaves alone. The
    planned ones among them are not warned about here: deploy reports each as a conflict."""
    from aks_jumpbox.azure.footprint import survey

    found = survey(az, plan)
    found.foreign = [f for f in found.foreign if not f.planned]
    return found


def warn_before_build(az: Azure, plan: Plan, presenter: Any) -> None:
    """deploy's warnings, before `build` deploys: lines on stderr, or with --output json one `foreign`
    event each (stderr stays JSON Lines)."""
    found = before_deploy(az, plan)
    if not presenter.json:
        warn_foreign(found.lines())
        return
    for f in found.foreign:
        presenter.emit("foreign", warning=f.line(found.key), **f.to_json())
    for line in found.lines()[len(found.foreign) :]:  # what could not be listed
        presenter.emit("foreign", warning=line)
