"""Where preflight reads Azure's state from: the questions every source answers, in REST shapes.

Two sources answer them: live Azure through the SDK (``aks_jumpbox.azure.preflight``) and a folder of
ARM JSON documents (:mod:`aks_jumpbox.preflight.snapshot`). Both return documents exactly as the
REST API does, so the checks cannot tell them apart, and ``snapshot`` writes what the live source
answered in the form the folder source reads.

A source that cannot answer (a document missing from a snapshot, a 403 from Azure) raises
:class:`Unavailable`; the check concerned is then skipped with the reason, never guessed.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

Doc = dict[str, Any]

__all__ = [
    "Answer",
    "Doc",
    "Lookups",
    "Source",
    "Unavailable",
    "firewalls_path",
    "image_versions_path",
    "permissions_path",
    "provider_path",
    "role_assignments_path",
    "type_from_id",
]


class Unavailable(Exception):  # noqa: N818 - an answer, not a failure
    """The source cannot say. ``code`` / ``message`` are ARM's when Azure refused."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


def type_from_id(rid: str) -> str:
    """The resource type an ID (or collection path) names, lower case:
    ``…/virtualNetworks/v/subnets/s`` -> ``microsoft.network/virtualnetworks/subnets``."""
    segs = rid.strip("/").split("/")
    low = [s.lower() for s in segs]
    if "providers" not in low:
        return "microsoft.resources/resourcegroups" if len(segs) >= 4 and low[2] == "resourcegroups" else ""
    i = len(low) - 1 - low[::-1].index("providers")
    rest = low[i + 1 :]
    if len(rest) < 2:
        return ""
    return "/".join([rest[0], *rest[1::2]])


def provider_path(subscription: str, namespace: str) -> str:
    return f"/subscriptions/{subscription}/providers/{namespace}"


def firewalls_path(subscription: str) -> str:
    return f"/subscriptions/{subscription}/providers/Microsoft.Network/azureFirewalls"


def role_assignments_path(subscription: str) -> str:
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments"


def permissions_path(scope: str) -> str:
    return f"{scope.rstrip('/')}/providers/Microsoft.Authorization/permissions"


def image_versions_path(subscription: str, location: str, publisher: str, offer: str, sku: str) -> str:
    return (
        f"/subscriptions/{subscription}/providers/Microsoft.Compute/locations/{location}/publishers/{publisher}"
        f"/artifacttypes/vmimage/offers/{offer}/skus/{sku}/versions"
    )


class Source(ABC):
    """The questions preflight asks. Lists come back as lists of items; None means "does not exist"."""

    description: str = "a source"
    # Whether answering several questions at once pays (a network source does; a folder does not).
    concurrent_reads: bool = False

    @abstractmethod
    def resource(self, rid: str) -> Doc | None:
        """GET of one resource by ID (a VNet embeds its subnets, as ARM returns it)."""

    @abstractmethod
    def provider(self, subscription: str, namespace: str) -> Doc | None:
        """The resource provider's registration document."""

    @abstractmethod
    def firewalls(self, subscription: str) -> list[Doc]:
        """Azure Firewalls (``Microsoft.Network/azureFirewalls``) that may sit on the build's path."""

    @abstractmethod
    def role_assignments(self, subscription: str, principal_id: str) -> list[Doc]:
        """Role assignments of a principal anywhere in the subscription (at, above and below scopes)."""

    @abstractmethod
    def permissions(self, scope: str) -> list[Doc]:
        """The caller's permission blocks at ``scope`` (``{scope}/providers/Microsoft.Authorization/permissions``)."""

    @abstractmethod
    def image_versions(self, subscription: str, location: str, publisher: str, offer: str, sku: str) -> list[Doc]:
        """Marketplace image versions in a region (empty when the image is not offered there)."""

    def explain(self, exc: Exception) -> Exception:
        """The error to report when a document this source returned cannot be read (e.g. naming its file)."""
        return exc


@dataclass(frozen=True)
class Answer:
    """One question and what the source said: a document, a list, None (absent) or Unavailable."""

    kind: str  # resource | provider | firewalls | role_assignments | permissions | image_versions
    path: str  # the REST path the answer came from
    value: Any


class Lookups(Source):
    """Asks the underlying source each question once and remembers every answer, in order.

    The checks ask the same thing several times (a VNet for its region, its prefixes, its subnets);
    live, that would be a round trip each. The remembered answers are what ``snapshot`` writes.
    """

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.description = inner.description
        self.answers: dict[tuple[str, ...], Answer] = {}
        self._lock = threading.Lock()

    def _ask(self, key: tuple[str, ...], kind: str, path: str, call: Callable[[], Any]) -> Any:
        norm = tuple(k.lower() for k in key)
        with self._lock:
            known = self.answers.get(norm)
        if known is None:
            try:
                value: Any = call()
            except Unavailable as exc:
                value = exc
            known = Answer(kind, path, value)
            with self._lock:
                self.answers.setdefault(norm, known)
        if isinstance(known.value, Unavailable):
            raise known.value
        return known.value

    def prefetch(self, questions: Iterable[tuple[str, tuple[str, ...]]], workers: int = 8) -> None:
        """Ask independent questions at once, when the source is remote: one round trip's time for
        many, instead of one each. Failures are left for the check that asks again to report."""
        if not self.inner.concurrent_reads:
            return

        def ask(q: tuple[str, tuple[str, ...]]) -> None:
            try:
                getattr(self, q[0])(*q[1])
            except Exception:  # noqa: BLE001, S110 - re-raised when the check itself asks
                pass

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(ask, questions))

    def explain(self, exc: Exception) -> Exception:
        return self.inner.explain(exc)

    def resource(self, rid: str) -> Doc | None:
        return self._ask(("resource", rid.rstrip("/")), "resource", rid, lambda: self.inner.resource(rid))

    def provider(self, subscription: str, namespace: str) -> Doc | None:
        return self._ask(
            ("provider", subscription, namespace),
            "provider",
            provider_path(subscription, namespace),
            lambda: self.inner.provider(subscription, namespace),
        )

    def firewalls(self, subscription: str) -> list[Doc]:
        return self._ask(
            ("firewalls", subscription),
            "firewalls",
            firewalls_path(subscription),
            lambda: self.inner.firewalls(subscription),
        )

    def role_assignments(self, subscription: str, principal_id: str) -> list[Doc]:
        return self._ask(
            ("role_assignments", subscription, principal_id),
            "role_assignments",
            role_assignments_path(subscription),
            lambda: self.inner.role_assignments(subscription, principal_id),
        )

    def permissions(self, scope: str) -> list[Doc]:
        return self._ask(
            ("permissions", scope.rstrip("/")),
            "permissions",
            permissions_path(scope),
            lambda: self.inner.permissions(scope),
        )

    def image_versions(self, subscription: str, location: str, publisher: str, offer: str, sku: str) -> list[Doc]:
        return self._ask(
            ("image_versions", subscription, location, publisher, offer, sku),
            "image_versions",
            image_versions_path(subscription, location, publisher, offer, sku),
            lambda: self.inner.image_versions(subscription, location, publisher, offer, sku),
        )
