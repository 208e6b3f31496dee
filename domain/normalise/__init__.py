"""Normalisation: provider wire objects -> the unified rows of the warehouse (DESIGN §3.5).

Every ``normalise_*`` function takes a list of raw wire dicts and a ``source_version``
(one int for the batch, or one per object) and returns ``Normalised(rows, problems)``:
``rows`` has exactly the columns of the warehouse table (less ``row_hash`` and
``synced_at``, which the loader adds); ``problems`` lists the objects that could not
be normalised (``provider, object_type, object_id, reason, payload``), for the
quarantine. Nothing here raises on bad data, does I/O or reads a clock.

Modules: :mod:`.stripe_customers`, :mod:`.stripe_invoices`, :mod:`.stripe_payments`,
:mod:`.stripe_payouts`, :mod:`.gocardless`, :mod:`.gocardless_money`,
:mod:`.aftership`; :mod:`.links` fills cross-object links; :mod:`.b2b` the B2B rules.
"""

from domain.normalise import (
    aftership,
    gocardless,
    gocardless_money,
    links,
    stripe_customers,
    stripe_invoices,
    stripe_payments,
    stripe_payouts,
)
from domain.normalise.core import PROBLEM_COLUMNS, Normalised, concat
from domain.normalise.links import resolve_payment_links

__all__ = [
    "PROBLEM_COLUMNS",
    "Normalised",
    "aftership",
    "concat",
    "gocardless",
    "gocardless_money",
    "links",
    "resolve_payment_links",
    "stripe_customers",
    "stripe_invoices",
    "stripe_payments",
    "stripe_payouts",
]
