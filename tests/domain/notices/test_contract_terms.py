"""A subscription's notice period and contract kind come from its metadata, on Stripe and
GoCardless alike; a notice period that is not a number of days is quarantined, never
guessed (the deadline a consumer reads depends on it)."""

from __future__ import annotations

import pytest

from domain.normalise import gocardless
from domain.normalise import stripe_customers as sc
from tests.domain.normalise import wire


def test_stripe_subscription_terms() -> None:
    sub = wire.stripe_subscription(
        metadata={"tacit_renewal": "true", "notice_days": "30", "contract": "maintenance"}
    )
    row = wire.plain(sc.normalise_subscriptions([sub], 1).rows)
    assert (row["tacit_renewal"], row["notice_days"], row["contract"]) == (True, 30, "maintenance")
    assert row["source_version"] == 1  # the columns added later sit after it


def test_gocardless_subscription_terms() -> None:
    mandates = {"MD123": wire.gc_mandate()}
    sub = wire.gc_subscription(metadata={"tacit_renewal": "true", "notice_days": " 45 "})
    row = wire.plain(gocardless.normalise_subscriptions([sub], 1, mandates=mandates).rows)
    assert (row["notice_days"], row["contract"]) == (45, None)


def test_no_metadata_no_terms() -> None:
    row = wire.plain(sc.normalise_subscriptions([wire.stripe_subscription(metadata={})], 1).rows)
    assert row["notice_days"] is None
    assert row["contract"] is None


@pytest.mark.parametrize("bad", ["thirty", "-5", "400", "3.5"])
def test_a_notice_period_that_is_not_days_is_quarantined(bad: str) -> None:
    sub = wire.stripe_subscription(metadata={"tacit_renewal": "true", "notice_days": bad})
    out = sc.normalise_subscriptions([sub], 1)
    assert out.rows.empty
    assert out.problems["reason"].str.startswith("metadata.notice_days is not a number").all()
