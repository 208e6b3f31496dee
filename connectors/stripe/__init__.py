"""Stripe over ``stripe.StripeClient``: paged reads, event stream, idempotent writes."""

from connectors.stripe.connector import StripeConnector, time_slices
from connectors.stripe.endpoints import ENDPOINTS, PAGE_SIZE, Endpoint
from connectors.stripe.writes import PaymentOutcome

__all__ = ["ENDPOINTS", "PAGE_SIZE", "Endpoint", "PaymentOutcome", "StripeConnector", "time_slices"]
