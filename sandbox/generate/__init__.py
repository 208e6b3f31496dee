"""Deterministic generator of realistic shops for the sandbox (see docs/sandbox.md).

``generate(store, "small", seed=7, as_of=date(2026, 6, 30))`` writes ~18 months
of a shop's history at Stripe, GoCardless and AfterShip into ``store`` and
returns a :class:`Summary` (counts, the deliberate anomalies with their ids,
the clock start).
"""

from sandbox.generate.cache import generate_cached
from sandbox.generate.shop import GENERATOR_VERSION, SIZES, Summary, generate

__all__ = ["GENERATOR_VERSION", "SIZES", "Summary", "generate", "generate_cached"]
