"""Azure failures as one line a person can act on: what we were doing, ARM's code and message, and
the resource concerned. Secrets never appear: SDK errors carry no tokens and we print no headers.

A failed sign-in is its own kind (SignInFailure, exit 3): no credential (not signed in), the identity
platform refusing to issue a token (an AADSTS error:
https://learn.microsoft.com/entra/identity-platform/reference-error-codes), or Azure refusing the token
it was given (HTTP 401, "lacks valid authentication credentials": RFC 9110 section 15.5.2; ARM says
InvalidAuthenticationToken, ExpiredAuthenticationToken, ...). A
pipeline can tell it from a failed check or build (exit 1): the environment, not the image, needs fixing.
A missing permission (403, AuthorizationFailed) is not a sign-in failure: the caller is known, and
`check` reports what it lacks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from aks_jumpbox.core.errors import OperationFailed


class AzureFailure(OperationFailed):
    def __init__(
        self,
        action: str,
        code: str,
        message: str,
        *,
        resource: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.action, self.code, self.message = action, code, message
        self.resource, self.status, self.hint = resource, status, hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.action} failed: {self.code}: {self.message}"
        if self.resource:
            text += f"\n  resource: {self.resource}"
        if self.hint:
            text += f"\n  {self.hint}"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "action": self.action,
            "code": self.code,
            "message": self.message,
            "resource": self.resource,
            "status": self.status,
        }


class SignInFailure(AzureFailure):
    """No token, or a token Azure refused: the environment's sign-in needs fixing (cli/present.py
    EXIT_SIGN_IN)."""

    exit_code = 3
    kind = "sign-in"


SIGN_IN_HINT = "Sign in with `az login` (or set up a managed or workload identity), then re-run."


def _refused_token(status: int | None, message: str) -> bool:
    # 401: Azure refused the bearer token. AADSTS…: the identity platform refused to issue one
    # (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
    return status == 401 or "AADSTS" in message


def error_code(exc: HttpResponseError) -> str:
    err = getattr(exc, "error", None)
    if err is not None and getattr(err, "code", None):
        return str(err.code)
    storage_code = getattr(exc, "error_code", None)  # the data plane puts it here (x-ms-error-code)
    if storage_code:
        return str(getattr(storage_code, "value", storage_code))
    return f"HTTP{exc.status_code}" if exc.status_code else type(exc).__name__


def error_message(exc: HttpResponseError) -> str:
    err = getattr(exc, "error", None)
    if err is not None and getattr(err, "message", None):
        text = str(err.message)
        details = [f"{d.code}: {d.message}" for d in (getattr(err, "details", None) or []) if getattr(d, "code", None)]
        return text + (" (" + "; ".join(details) + ")" if details else "")
    return (exc.message or exc.reason or str(exc)).strip().splitlines()[0]


_HINTS = {
    "AuthorizationFailed": (
        "Your identity lacks a permission ARM named above; ask for it or run as an identity that has it."
    ),
    "RoleAssignmentExists": "The same role is already assigned to this identity at this scope under another name.",
    "RoleDefinitionWithSameNameExists": (
        "A custom role with this name exists under another ID; delete it or rename the spec."
    ),
    "PrincipalNotFound": "Azure AD had not yet replicated the new identity; re-run the command.",
    "SubscriptionNotFound": "Check the subscription ID and that your identity can see it (`az account list`).",
    "MissingSubscriptionRegistration": "Register the resource provider named above (`az provider register -n ...`).",
}


def from_http(action: str, exc: HttpResponseError, resource: str | None) -> AzureFailure:
    code, message = error_code(exc), error_message(exc)
    if _refused_token(exc.status_code, message):
        return SignInFailure(
            action, code, message, resource=resource, status=exc.status_code, hint=_HINTS.get(code, SIGN_IN_HINT)
        )
    return AzureFailure(action, code, message, resource=resource, status=exc.status_code, hint=_HINTS.get(code))


@contextlib.contextmanager
def arm(action: str, resource: str | None = None) -> Iterator[None]:
    """Turn what the SDK raises during `action` on `resource` into an AzureFailure."""
    try:
        yield
    except AzureFailure:
        raise
    except ClientAuthenticationError as exc:
        first = (exc.message or str(exc)).strip().splitlines()[0]
        if exc.status_code:
            raise from_http(action, exc, resource) from None
        raise SignInFailure(action, "CredentialUnavailable", first, resource=resource, hint=SIGN_IN_HINT) from None
    except HttpResponseError as exc:
        raise from_http(action, exc, resource) from None
    except (ServiceRequestError, ServiceResponseError) as exc:
        first = (exc.message or str(exc)).strip().splitlines()[0]
        raise AzureFailure(
            action, "ConnectionFailed", f"no answer from Azure after retries: {first}", resource=resource
        ) from None
