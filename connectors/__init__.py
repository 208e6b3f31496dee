"""One package per provider over its official SDK: paging, rate limits, retries, clear errors.

Plain Python (no prefect). Build connectors from the settings object with
:func:`from_settings`; every SDK is imported when its connector is first built.
"""

from connectors.errors import ConnectorError, EventCursorExpired, MissingCredentials, redact
from connectors.factory import (
    Connectors,
    aftership_from_settings,
    from_settings,
    gocardless_from_settings,
    sendgrid_from_settings,
    stripe_from_settings,
)

__all__ = [
    "ConnectorError",
    "Connectors",
    "EventCursorExpired",
    "MissingCredentials",
    "aftership_from_settings",
    "from_settings",
    "gocardless_from_settings",
    "redact",
    "sendgrid_from_settings",
    "stripe_from_settings",
]
