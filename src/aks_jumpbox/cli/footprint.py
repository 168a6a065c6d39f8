"""Warnings about other specs' resources (azure/footprint.py): one line each, on stderr, in every output mode."""

from __future__ import annotations

from collections.abc import Iterable

from aks_jumpbox.cli.present import console, esc


def warn_foreign(lines: Iterable[str]) -> None:
    con = console(stderr=True)
    for line in lines:
        con.print(f"[yellow]warning:[/] {esc(line)}", soft_wrap=True)
