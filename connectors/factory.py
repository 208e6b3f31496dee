"""Connectors built from the one settings object (DESIGN §3.2), read at the edge.

Nothing here reads the environment: the CLI or the flow entry point loads
``echeancier.settings.Settings`` once and hands it down. Keys are ``SecretStr``
and are unwrapped only here, at the moment a client is built. A provider whose
key is missing fails when (and only when) a run asks for it, with a message
naming the variable to set, never with a silently empty sync.

Example::

    connectors = from_settings(load_settings())
    for page in connectors.stripe.list_pages("customers"):
        ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from connectors.errors import MissingCredentials

if TYPE_CHECKING:
    from pydantic import SecretStr

    from connectors.aftership import AfterShipConnector
    from connectors.gocardless import GoCardlessConnector
    from connectors.sendgrid import SendGridConnector
    from connectors.stripe import StripeConnector
    from echeancier.settings import Settings


def _secret(provider: str, variable: str, value: SecretStr | None) -> str:
    secret = value.get_secret_value() if value is not None else ""
    if not secret:
        raise MissingCredentials(provider, "settings", f"{variable} is not set")
    return secret


def stripe_from_settings(settings: Settings, **kwargs: Any) -> StripeConnector:
    from connectors.stripe import StripeConnector

    key = _secret("stripe", "STRIPE_API_KEY", settings.stripe_api_key)
    return StripeConnector(key, settings.stripe_api_base, **kwargs)


def gocardless_from_settings(settings: Settings, **kwargs: Any) -> GoCardlessConnector:
    from connectors.gocardless import GoCardlessConnector

    token = _secret("gocardless", "GOCARDLESS_ACCESS_TOKEN", settings.gocardless_access_token)
    return GoCardlessConnector(token, settings.gocardless_base_url, **kwargs)


def aftership_from_settings(settings: Settings, **kwargs: Any) -> AfterShipConnector:
    from connectors.aftership import AfterShipConnector

    key = _secret("aftership", "AFTERSHIP_API_KEY", settings.aftership_api_key)
    return AfterShipConnector(key, settings.aftership_tracking_sdk_domain, **kwargs)


def sendgrid_from_settings(settings: Settings, **kwargs: Any) -> SendGridConnector:
    from connectors.sendgrid import SendGridConnector

    key = _secret("sendgrid", "SENDGRID_API_KEY", settings.sendgrid_api_key)
    return SendGridConnector(key, settings.sendgrid_host, **kwargs)


@dataclass
class Connectors:
    """The four connectors of one settings object, each built on first use."""

    settings: Settings
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    @cached_property
    def stripe(self) -> StripeConnector:
        return stripe_from_settings(self.settings, **self.options.get("stripe", {}))

    @cached_property
    def gocardless(self) -> GoCardlessConnector:
        return gocardless_from_settings(self.settings, **self.options.get("gocardless", {}))

    @cached_property
    def aftership(self) -> AfterShipConnector:
        return aftership_from_settings(self.settings, **self.options.get("aftership", {}))

    @cached_property
    def sendgrid(self) -> SendGridConnector:
        return sendgrid_from_settings(self.settings, **self.options.get("sendgrid", {}))


def from_settings(settings: Settings, **options: dict[str, Any]) -> Connectors:
    """``from_settings(s, stripe={"max_workers": 8})``: per-provider constructor options."""
    return Connectors(settings, dict(options))
