"""What every command that talks to Azure shares: cloud/subscription options, the plan it works on,
and opening the Azure adapter (the only place commands import it)."""

from __future__ import annotations

import functools
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

from aks_jumpbox.cli.context import Inputs, resolve_plan
from aks_jumpbox.cli.present import lock_option, spec_option
from aks_jumpbox.core.errors import UserError
from aks_jumpbox.core.plan import Plan
from aks_jumpbox.core.spec import DEFAULT_SPEC_NAME, Spec


@dataclass(frozen=True)
class AzureArgs:
    subscription: str | None
    arm_endpoint: str | None
    arm_audience: str | None
    authority_host: str | None
    storage_suffix: str | None


def json_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Kept for the commands that carry it: with --output json every error (an Azure failure included)
    now becomes the {"error": {...}} document on stdout in one place, cli/present.py's show_error."""
    return fn


def azure_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the cloud options and passes them to the command as one `azure_args` argument."""
    options = [
        click.option(
            "--subscription",
            help="Subscription ID; must match the spec's (default: the spec's, "
            "cross-checked with AZURE_SUBSCRIPTION_ID).",
        ),
        click.option(
            "--arm-endpoint",
            help="ARM endpoint of a custom cloud, e.g. https://management.contoso.local "
            "(env AZURE_ARM_ENDPOINT). Default: the spec's cloud.",
        ),
        click.option(
            "--arm-audience",
            help="Token audience of a custom cloud's ARM when it differs from the endpoint (env AZURE_ARM_AUDIENCE).",
        ),
        click.option("--authority-host", help="Azure AD authority of a custom cloud (env AZURE_AUTHORITY_HOST)."),
        click.option(
            "--storage-suffix",
            help="Storage endpoint suffix of a custom cloud, e.g. core.contoso.local (env AZURE_STORAGE_SUFFIX).",
        ),
    ]

    @functools.wraps(fn)
    def wrapper(
        *args: Any,
        subscription: str | None,
        arm_endpoint: str | None,
        arm_audience: str | None,
        authority_host: str | None,
        storage_suffix: str | None,
        **kwargs: Any,
    ) -> Any:
        kwargs["azure_args"] = AzureArgs(subscription, arm_endpoint, arm_audience, authority_host, storage_suffix)
        return fn(*args, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


_KEEP_ON_ERROR_HELP = (
    "Keep the build VM when a customizer or validation fails, for debugging (sets the template's "
    "errorHandling to abort, so it is a different template with its own name)."
)
# Every other command acts on a template; this flag names which one (the hash differs), so they keep it.
_KEEP_ON_ERROR_REFER = (
    "Act on the template `build --keep-on-error` made: its errorHandling is abort, so it has its own name."
)
_MAKES_TEMPLATES = {"build", "deploy"}


def keep_on_error_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    makes = fn.__module__.rsplit(".", 1)[-1] in _MAKES_TEMPLATES
    return click.option("--keep-on-error", is_flag=True, help=_KEEP_ON_ERROR_HELP if makes else _KEEP_ON_ERROR_REFER)(
        fn
    )


def plan_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    return spec_option(lock_option(keep_on_error_option(fn)))


def keep_on_error(spec: Spec) -> Spec:
    build = spec.build.model_copy(update={"on_customizer_error": "abort", "on_validation_error": "abort"})
    return spec.model_copy(update={"build": build})


def load_plan(
    spec_path: str | None, lock_path: str | None, keep: bool, *, offline: bool = False
) -> tuple[Inputs, Plan]:
    """The plan an Azure command acts on. Only `plan`, `report` and offline checks fall back to the
    embedded default spec: its subscription and resource groups are placeholders, and a command that
    writes to Azure or reads a subscription must act on a spec the user wrote."""
    if not offline and spec_path is None and not os.path.lexists(DEFAULT_SPEC_NAME):
        raise UserError(
            f"no {DEFAULT_SPEC_NAME} in this folder, and commands that reach Azure never use the embedded "
            "default spec (its subscription and resource groups are placeholders)",
            fix=f"Run `aks-jumpbox init` and edit {DEFAULT_SPEC_NAME}, or pass -f FILE.",
        )
    return resolve_plan(spec_path, lock_path, keep_on_error if keep else None)


def connect(plan: Plan, args: AzureArgs) -> Any:
    """The Azure adapter for the plan: cloud and subscription resolved, nothing contacted yet."""
    from aks_jumpbox.azure.clients import Azure, Tuning, choose_subscription
    from aks_jumpbox.azure.cloud import select_cloud

    cloud = select_cloud(
        plan.spec.cloud,
        arm_endpoint=args.arm_endpoint,
        arm_audience=args.arm_audience,
        authority_host=args.authority_host,
        storage_suffix=args.storage_suffix,
    )
    subscription = choose_subscription(plan.subscription, args.subscription)
    tuning = Tuning.from_env()  # bad values are input errors: found before anything is contacted
    return Azure(cloud, subscription, tuning)


def rerun_hint(command: str, spec_path: str | None, keep: bool, extra: str = "") -> str:
    parts = ["aks-jumpbox", command]
    if spec_path:
        parts += ["-f", spec_path]
    if keep:
        parts.append("--keep-on-error")
    if extra:
        parts.append(extra)
    return " ".join(parts)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """A killed terminal or CI job (SIGTERM) detaches like Ctrl-C, with the same message."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
