"""What a WhatsApp connection holds, checked before anything is called or saved."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bizzly.errors import DomainError, InputErrors, Invalid

_GRAPH_ID = re.compile(r"^\d{1,32}$")
_TEMPLATE = re.compile(r"^[a-z0-9_]{1,512}$")
_MAX_SECRET = 2048


@dataclass(frozen=True)
class WhatsAppAccount:
    config: dict[str, Any]
    secrets: dict[str, str | None]

    @property
    def phone_number_id(self) -> str:
        return str(self.config["phone_number_id"])

    @property
    def own_app(self) -> bool:
        return bool(self.secrets.get("app_secret"))


def whatsapp_account(
    *,
    phone_number_id: str,
    waba_id: str,
    access_token: str,
    app_secret: str | None = None,
    verify_token: str | None = None,
    otp_template_name: str | None = None,
) -> WhatsAppAccount:
    """Validate connectWhatsApp's input. A business that brings its own Meta app gives both its app secret
    and a verify token (its webhooks then use its own route)."""
    errors: list[DomainError] = []
    phone_number_id, waba_id = phone_number_id.strip(), waba_id.strip()
    access_token = access_token.strip()
    if not _GRAPH_ID.match(phone_number_id):
        errors.append(Invalid("A phone number id is numeric (Meta shows it).", field="phoneNumberId"))
    if not _GRAPH_ID.match(waba_id):
        errors.append(Invalid("A WhatsApp Business Account id is numeric.", field="wabaId"))
    if not access_token or len(access_token) > _MAX_SECRET or any(c.isspace() for c in access_token):
        errors.append(Invalid("Paste the access token exactly as Meta shows it.", field="accessToken"))
    app_secret = (app_secret or "").strip() or None
    verify_token = (verify_token or "").strip() or None
    if app_secret and len(app_secret) > _MAX_SECRET:
        errors.append(Invalid("This app secret is too long.", field="appSecret"))
    if verify_token and len(verify_token) > _MAX_SECRET:
        errors.append(Invalid("This verify token is too long.", field="verifyToken"))
    if bool(app_secret) != bool(verify_token):
        field = "verifyToken" if app_secret else "appSecret"
        errors.append(Invalid("Give both your app's secret and a verify token, or neither.", field=field))
    template = (otp_template_name or "").strip() or None
    if template and not _TEMPLATE.match(template):
        errors.append(
            Invalid("Template names use lower-case letters, digits and underscores.", field="otpTemplateName")
        )
    if errors:
        raise InputErrors(errors)
    return WhatsAppAccount(
        config={"phone_number_id": phone_number_id, "waba_id": waba_id, "otp_template_name": template},
        secrets={"access_token": access_token, "app_secret": app_secret, "verify_token": verify_token},
    )
