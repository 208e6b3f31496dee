"""GoCardless over ``gocardless_pro.Client``: pages of 500, events with ``linked``, retries."""

from connectors.gocardless.connector import EventPage, GoCardlessConnector, RetryOutcome
from connectors.gocardless.endpoints import ENDPOINTS, PAGE_SIZE

__all__ = ["ENDPOINTS", "PAGE_SIZE", "EventPage", "GoCardlessConnector", "RetryOutcome"]
