"""Store an image's SBOM and software report in a blob container, with Azure AD (never a key)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from azure.core.exceptions import HttpResponseError

from aks_jumpbox.azure.clients import Azure
from aks_jumpbox.azure.errors import error_code, from_http

DATA_ROLE = "Storage Blob Data Contributor"


def split_container_url(url: str) -> tuple[str, str, str]:
    """(account URL, container, prefix) of https://ACCOUNT.blob.SUFFIX/CONTAINER[/PREFIX], or of the
    path-style https://HOST:PORT/ACCOUNT/CONTAINER[/PREFIX] an emulator or private endpoint uses."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    host = parts.hostname or ""
    # The Azure AD token goes to this host and the files under this path: no doubt about either.
    if not host or parts.username is not None or parts.password is not None or parts.port == 0:
        raise ValueError(f"{url} must name a host, without user:password@")
    if parts.query or parts.fragment or any(not ch.isprintable() or ch.isspace() for ch in url):
        raise ValueError(
            f"{url} must be a plain URL: no ?query (no SAS token: sign-in is Azure AD), #fragment, "
            "spaces or control characters"
        )
    if any(unquote(s) in (".", "..") for s in segments):
        raise ValueError(f"{url} has a . or .. segment; name the container and prefix directly")
    path_style = host.replace(".", "").isdigit() or host == "localhost"
    head = 2 if path_style else 1  # path style: account, container
    if len(segments) < head:
        raise ValueError(f"{url} names no container; use https://<account>.blob.<suffix>/<container>[/<prefix>]")
    base = f"{parts.scheme}://{parts.netloc}"
    account_url = f"{base}/{segments[0]}" if path_style else base
    return account_url, segments[head - 1], "/".join(segments[head:])


def upload_reports(az: Azure, container_url: str, folder: str, files: dict[str, str]) -> list[str]:
    """Upload files under <prefix>/<folder>/ and return their URLs; same content twice is harmless."""
    account_url, container, prefix = split_container_url(container_url)
    client = az.blob_service(account_url).get_container_client(container)
    urls = []
    for name, text in files.items():
        blob = "/".join(p for p in (prefix, folder, name) if p)
        content_type = "text/markdown" if name.endswith(".md") else "application/json"
        try:
            from azure.storage.blob import ContentSettings

            client.upload_blob(
                blob, text.encode("utf-8"), overwrite=True, content_settings=ContentSettings(content_type=content_type)
            )
        except HttpResponseError as exc:
            failure = from_http(f"uploading {name} to {container_url}", exc, None)
            if exc.status_code == 403:
                failure.hint = f"Grant yourself {DATA_ROLE} on the storage account or container, then re-run."
            elif error_code(exc) == "ContainerNotFound":
                failure.hint = (
                    f"Create the container {container!r} first (az storage container create --auth-mode login)."
                )
            raise failure from None
        urls.append(f"{account_url.rstrip('/')}/{container}/{blob}")
    return urls
