"""Marketplace (platform) images and their versions per region, as Compute's VM image API lists them.

``GET /subscriptions/{s}/providers/Microsoft.Compute/locations/{region}/publishers/{p}/artifacttypes/vmimage/
offers/{o}/skus/{k}/versions`` answers a bare JSON array of ``{"location", "name", "id"}`` (no ``value``
envelope), and 404 ``NotFound`` "Artifact: VMImage was not found." when the image is not offered there.
The Gen2 images aks-jumpbox's catalog names are offered in every region by default; tests remove or add.
"""

from __future__ import annotations

from .providers import _EVERYWHERE
from .wire import ArmError, Response

# (publisher, offer, sku) -> versions (oldest first)
DEFAULT_IMAGES: dict[tuple[str, str, str], list[str]] = {
    ("Canonical", "ubuntu-24_04-lts", "server"): ["24.04.202604150", "24.04.202605200"],
    ("Canonical", "ubuntu-24_04-lts", "server-arm64"): ["24.04.202604150", "24.04.202605200"],
    ("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2"): ["22.04.202604150", "22.04.202605200"],
    ("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-arm64"): ["22.04.202604150", "22.04.202605200"],
    ("Debian", "debian-12", "12-gen2"): ["0.20260410.2078", "0.20260512.2110"],
    ("Debian", "debian-12", "12-arm64"): ["0.20260410.2078", "0.20260512.2110"],
}


def _region(name: str) -> str:
    return "".join(name.split()).lower()


class Marketplace:
    def __init__(self) -> None:
        everywhere = {_region(r) for r in _EVERYWHERE}
        # (publisher, offer, sku) lower -> (display key, versions, regions)
        self.images: dict[tuple[str, str, str], tuple[tuple[str, str, str], list[str], set[str]]] = {
            tuple(k.lower() for k in key): (key, list(v), set(everywhere)) for key, v in DEFAULT_IMAGES.items()
        }

    def add(self, publisher: str, offer: str, sku: str, versions: list[str], regions: list[str]) -> None:
        self.images[(publisher.lower(), offer.lower(), sku.lower())] = (
            (publisher, offer, sku),
            list(versions),
            {_region(r) for r in regions},
        )

    def withdraw(self, publisher: str, offer: str, sku: str, region: str | None = None) -> None:
        """Take an image out of one region (or all of them)."""
        key = (publisher.lower(), offer.lower(), sku.lower())
        if region is None:
            self.images.pop(key, None)
        elif key in self.images:
            self.images[key][2].discard(_region(region))

    def versions(self, subscription: str, region: str, publisher: str, offer: str, sku: str) -> Response:
        entry = self.images.get((publisher.lower(), offer.lower(), sku.lower()))
        if entry is None or _region(region) not in entry[2]:
            raise ArmError(404, "NotFound", "Artifact: VMImage was not found.")
        (pub, off, sk), versions, _ = entry
        base = (
            f"/Subscriptions/{subscription}/Providers/Microsoft.Compute/Locations/{_region(region)}/Publishers/"
            f"{pub}/ArtifactTypes/VMImage/Offers/{off}/Skus/{sk}/Versions"
        )
        return Response(200, [{"location": _region(region), "name": v, "id": f"{base}/{v}"} for v in versions])
