"""Resolve the catalog, spec and lock a command works on, with the defaults every command shares.

The CLI is the composition root: the catalog is loaded here, once, and handed to everything that
needs it (the spec's validation, the lock's verification, the plan); the core never loads it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from aks_jumpbox.core.catalog import Catalog, load_catalog
from aks_jumpbox.core.errors import SpecError
from aks_jumpbox.core.lock import DEFAULT_LOCK_NAME, Lock, load_lock
from aks_jumpbox.core.plan import Plan, build_plan
from aks_jumpbox.core.spec import DEFAULT_SPEC_NAME, Spec, load_spec
from aks_jumpbox.core.yamlfile import LocatedDocument


@dataclass(frozen=True)
class Inputs:
    spec: Spec
    spec_label: str
    spec_doc: LocatedDocument
    spec_path: Path | None
    lock: Lock
    lock_label: str
    lock_path: Path | None
    catalog: Catalog


def resolve_inputs(spec_path: str | None, lock_path: str | None) -> Inputs:
    # Anything by the default name is read (and a folder, FIFO or dangling link refused with a message):
    # silently falling back to the embedded default would plan something the user did not write.
    if spec_path is None and os.path.lexists(DEFAULT_SPEC_NAME):
        spec_path = DEFAULT_SPEC_NAME
    catalog = load_catalog()
    spec, doc = load_spec(spec_path, catalog)
    if lock_path is None and spec_path is not None:
        beside = Path(spec_path).parent / DEFAULT_LOCK_NAME
        lock_path = str(beside) if os.path.lexists(beside) else None
    lock, lock_label = load_lock(lock_path, catalog)
    return Inputs(
        spec,
        doc.file,
        doc,
        Path(spec_path) if spec_path else None,
        lock,
        lock_label,
        Path(lock_path) if lock_path else None,
        catalog,
    )


def resolve_plan(
    spec_path: str | None, lock_path: str | None, adjust: Callable[[Spec], Spec] | None = None
) -> tuple[Inputs, Plan]:
    """The plan of the spec and lock; `adjust` may change the spec first (e.g. --keep-on-error)."""
    inputs = resolve_inputs(spec_path, lock_path)
    spec = adjust(inputs.spec) if adjust else inputs.spec
    try:
        plan = build_plan(
            spec, inputs.lock, spec_label=inputs.spec_label, lock_label=inputs.lock_label, catalog=inputs.catalog
        )
    except SpecError as exc:
        raise SpecError([_located(p, inputs.spec_doc) for p in exc.problems]) from None
    return inputs, plan


def _located(problem, doc: LocatedDocument):
    """Give a spec problem found after parsing (e.g. a version missing from the lock) its line."""
    if problem.line is None and problem.file == doc.file and problem.field:
        path = tuple(problem.field.split("."))
        return replace(problem, line=doc.line_of(path))
    return problem
