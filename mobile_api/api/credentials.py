"""The inspector's e-credential (亮证) over the API: the tablet fetches a fresh QR code, and
anyone holding a token can ask whether it is genuine (the public page ``/verify/{token}``
answers the same for people: ``mobile_api.views.credentials``)."""

from __future__ import annotations

from typing import Any

from pyramid.i18n import TranslationString
from pyramid.request import Request

from enforcement.services.credentials import (
    CredentialError,
    CredentialService,
    CredentialStatus,
    Verification,
    qr_svg,
)
from mobile_api.api import api_view
from mobile_api.api_errors import ApiError
from mobile_api.i18n import _
from mobile_api.security import Permission

#: Why a credential does not check out, in words for the enterprise.
STATUS_MESSAGES: dict[CredentialStatus, TranslationString] = {
    CredentialStatus.VALID: _("The credential is genuine and in force."),
    CredentialStatus.EXPIRED: _("This QR code has expired. Ask the inspector to show a fresh one."),
    CredentialStatus.TAMPERED: _("This QR code was not issued by this system. Do not trust it."),
    CredentialStatus.INACTIVE: _("This inspector is not in service."),
    CredentialStatus.CERTIFICATE_EXPIRED: _(
        "This inspector's enforcement certificate has expired."
    ),
}


def credential_service(request: Request) -> CredentialService:
    return CredentialService.from_settings(request.dbsession, request.registry.settings)


def present_verification(request: Request, verification: Verification) -> dict[str, Any]:
    """Only what an enterprise may see: no ids, no contact details, no token times."""
    card = verification.card
    body: dict[str, Any] = {
        "valid": verification.valid,
        "status": verification.status.value,
        "credential_no": card.credential_no if card else None,
        "name": card.name if card else None,
        "department": card.department_name(request.locale_name) if card else None,
        "expires_on": card.expires_on.isoformat() if card and card.expires_on else None,
    }
    if not verification.valid:
        body["reason"] = request.localizer.translate(STATUS_MESSAGES[verification.status])
    return body


@api_view(
    route_name="api.me.credential",
    request_method="GET",
    permission=Permission.RECORD_INSPECTIONS,
)
def my_credential(request: Request) -> dict[str, Any]:
    """A fresh token each time: the tablet asks again before ``token_expires_at``."""
    inspector = request.identity.inspector
    if inspector is None:
        raise ApiError(403, _("Only an inspector's account has an e-credential."))
    try:
        issued = credential_service(request).issue(inspector)
    except CredentialError:
        raise ApiError(403, STATUS_MESSAGES[CredentialStatus.INACTIVE]) from None
    verify_url = request.route_url("credential.verify", token=issued.token)
    card = issued.card
    request.response.cache_control = "no-store"
    return {
        "credential_no": card.credential_no,
        "name": card.name,
        "department": card.department_name(request.locale_name),
        "expires_on": card.expires_on.isoformat() if card.expires_on else None,
        "token": issued.token,
        "token_expires_at": issued.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "verify_url": verify_url,
        "qr_svg": qr_svg(verify_url, title=card.credential_no),
    }


@api_view(route_name="api.credential", request_method="GET")
def verify_credential(request: Request) -> dict[str, Any]:
    """Public: whoever holds the token may check it. Always 200: the answer is the status."""
    verification = credential_service(request).verify(request.matchdict["token"])
    request.response.cache_control = "no-store"
    return present_verification(request, verification)
