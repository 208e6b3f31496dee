from __future__ import annotations

from datetime import date

import pandas as pd

from domain.tax.threshold import ThresholdYear, counted_sales, threshold_years

THRESHOLD = 1_000_000


def sales(*rows: tuple[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        [(date.fromisoformat(d), f"k{n}", amount) for n, (d, amount) in enumerate(rows)],
        columns=["day", "line_key", "base_eur"],
    )


def test_the_sale_that_takes_the_year_over_the_threshold_is_flagged() -> None:
    found = threshold_years(
        sales(("2025-05-01", 300_000), ("2026-03-02", 600_000), ("2026-05-10", 450_000)),
        as_of=date(2026, 6, 30),
        threshold=THRESHOLD,
    )

    assert found == [
        ThresholdYear(2025, 300_000, THRESHOLD, None, 0, False, date(2026, 6, 30)),
        ThresholdYear(
            2026, 1_050_000, THRESHOLD, date(2026, 5, 10), 300_000, True, date(2026, 6, 30)
        ),
    ]


def test_a_year_over_the_threshold_binds_the_next_one_from_its_first_day() -> None:
    found = threshold_years(
        sales(("2025-11-01", 1_200_000), ("2026-01-15", 10_000)),
        as_of=date(2026, 2, 1),
        threshold=THRESHOLD,
    )

    assert [(t.year, t.crossed_on, t.destination_vat_required) for t in found] == [
        (2025, date(2025, 11, 1), True),
        (2026, None, True),
    ]


def test_refunds_count_against_the_total_and_exactly_the_threshold_is_not_over() -> None:
    found = threshold_years(
        sales(("2026-02-01", 1_100_000), ("2026-01-10", -100_000)),
        as_of=date(2026, 6, 30),
        threshold=THRESHOLD,
    )

    assert (found[-1].distance_sales, found[-1].crossed_on) == (1_000_000, None)


def test_only_the_three_years_up_to_as_of_are_counted() -> None:
    """What the tax step keeps of each slice's distance sales (``counted_sales``)."""
    every = sales(
        ("2023-12-31", 900_000),
        ("2024-01-01", 700_000),
        ("2025-03-01", 200_000),
        ("2026-06-30", 500_000),
        ("2026-07-01", 900_000),
    )
    kept = counted_sales(every, as_of=date(2026, 6, 30))

    assert list(kept["line_key"]) == ["k1", "k2", "k3"]
    assert threshold_years(kept, as_of=date(2026, 6, 30), threshold=THRESHOLD) == (
        threshold_years(every, as_of=date(2026, 6, 30), threshold=THRESHOLD)
    )
