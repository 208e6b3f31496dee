"""A subscription's contract terms from its metadata: the notice period and the contract.

Tacitly renewed contracts (Code de la consommation L215-1) carry, in Stripe and
GoCardless metadata alike, ``notice_days`` (how many days before the renewal the
customer must refuse it) and ``contract`` (``annual_plan``, ``maintenance``…). The
renewal notices compute the deadline to refuse from them. Example:
``{"tacit_renewal": "true", "notice_days": "30", "contract": "maintenance"}`` ->
``(30, "maintenance")``; no metadata -> ``(None, None)``; ``"notice_days": "thirty"`` is
malformed (the deadline shown to a consumer must never be a guess).
"""

from __future__ import annotations

from domain.normalise import fields as f

MAX_NOTICE_DAYS = 366


def contract_terms(obj: f.Obj) -> tuple[int | None, str | None]:
    """``(notice_days, contract)`` from ``metadata``; a bad notice period is malformed."""
    raw = f.metadata(obj, "notice_days")
    notice_days = None
    if raw is not None and raw.strip():
        text = raw.strip()
        if not text.isdigit() or int(text) > MAX_NOTICE_DAYS:
            raise f.Malformed(
                f"metadata.notice_days is not a number of days (0-{MAX_NOTICE_DAYS}): {raw!r}"
            )
        notice_days = int(text)
    contract = f.metadata(obj, "contract")
    return notice_days, (contract.strip()[:32] or None) if contract else None
