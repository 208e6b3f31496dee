"""Which ladder each item follows, and which step of it is due tonight.

**Segments** are tried in the policy's order; the first whose conditions all hold
chooses the ladder (the last one, with no conditions, catches everyone else).

**Stage.** A ladder's steps are days relative to the due date. Tonight's step is the
latest one whose day has come (``day <= days_overdue``). It fires only if it is later
than every step already taken for the item — taken steps are read from the ledger of
earlier nights (``dunning_actions`` rows of an earlier ``as_of``, any status but
``planned``, which a dry run leaves and a real run has not done). So:

- a step is never repeated, and once a later step was taken, earlier ones never fire;
- after missed nights only the latest due step fires, never a burst of all of them.

Example (steps at J+1, J+7, J+15; J+1 taken on the 2nd night): on night J+6 nothing is
due; on J+7 ``reminder_2`` fires; if the flow did not run from J+7 to J+16, night J+17
fires only J+15's step. On a night where the current step was already taken, only a
payment retry it still owes (held back by the retry calendar) can fire.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from domain.dunning.inputs import DunningInputs, text, whole
from domain.dunning.model import Conditions, DunningPolicy

#: Ledger statuses that mean "this decision was taken" (``planned`` is a dry run's).
TAKEN = ("pending", "done", "failed", "skipped", "cancelled")


def assign_segments(items: pd.DataFrame, policy: DunningPolicy) -> pd.DataFrame:
    """``items`` with ``segment`` and ``ladder``: the first matching segment's."""
    out = items.copy()
    segment = pd.Series(pd.NA, index=out.index, dtype="string")
    for rule in policy.segments:
        hit = segment.isna() & _matches(out, rule.when)
        segment = segment.mask(hit, rule.name)
    ladders = {rule.name: rule.ladder for rule in policy.segments}
    out["segment"] = segment
    out["ladder"] = segment.map(ladders).astype("string")
    return out


def _matches(items: pd.DataFrame, when: Conditions) -> pd.Series:
    hit = pd.Series(True, index=items.index)
    if when.business is not None:
        hit &= items["is_business"] == when.business
    for field, column in (
        ("method", "method"),
        ("provider", "provider"),
        ("country", "country"),
        ("locale", "locale"),
        ("currency", "currency"),
    ):
        allowed = getattr(when, field)
        if allowed is not None:
            hit &= items[column].isin(allowed).fillna(False).astype(bool)
    if when.amount is not None:
        amount = items["amount"]
        if when.amount.min is not None:
            hit &= amount.ge(when.amount.min).fillna(False).astype(bool)
        if when.amount.max is not None:
            hit &= amount.le(when.amount.max).fillna(False).astype(bool)
    return hit


def steps_table(policy: DunningPolicy) -> pd.DataFrame:
    """One row per (ladder, step): its position, stage, day and actions."""
    rows = [
        {
            "ladder": name,
            "position": position,
            "stage": step.stage,
            "day": step.day,
            "actions": step.actions,
        }
        for name, ladder in policy.ladders.items()
        for position, step in enumerate(ladder.steps)
    ]
    return pd.DataFrame(rows, columns=["ladder", "position", "stage", "day", "actions"])


def taken(inputs: DunningInputs, as_of: date) -> pd.DataFrame:
    """Decisions of earlier nights: item_id, stage, action, dedupe_key, days_overdue,
    status, outcome, as_of (a key is ``dunning:{item}:{stage}:{action}``)."""
    history = inputs.table("history")
    key = text(history["dedupe_key"])
    nights = pd.to_datetime(history["as_of"], errors="coerce")
    keep = (
        key.str.startswith("dunning:").fillna(False).astype(bool)
        & text(history["status"]).isin(TAKEN)
        & (nights < pd.Timestamp(as_of)).fillna(False).astype(bool)
    )
    rows = history[keep]
    parts = text(rows["dedupe_key"]).str.slice(len("dunning:")).str.rsplit(":", n=2, expand=True)
    if parts.shape[1] < 3:
        parts = pd.DataFrame(columns=[0, 1, 2], index=rows.index, dtype="string")
    return pd.DataFrame(
        {
            "item_id": parts[0].astype("string"),
            "stage": parts[1].astype("string"),
            "action": parts[2].astype("string"),
            "dedupe_key": text(rows["dedupe_key"]),
            "days_overdue": whole(rows["days_overdue"]),
            "status": text(rows["status"]),
            "outcome": text(rows["outcome"]),
            "as_of": nights[keep],
        }
    ).reset_index(drop=True)


def current_stage(items: pd.DataFrame, policy: DunningPolicy, done: pd.DataFrame) -> pd.DataFrame:
    """``items`` with ``stage``/``step_day`` (latest due step, NA if none) and ``fires``:
    ``new`` (a step not taken yet), ``same`` (the current step, already taken) or NA."""
    out = items.reset_index(drop=True)
    steps = steps_table(policy)
    position = pd.Series(-1, index=out.index, dtype="int64")
    for name, group in steps.groupby("ladder", sort=False):
        rows = out.index[out["ladder"] == name]
        days = group["day"].to_numpy()
        overdue = out.loc[rows, "days_overdue"].fillna(-10_000).to_numpy(dtype="int64")
        position.loc[rows] = np.searchsorted(days, overdue, side="right") - 1
    out["position"] = position
    out = out.merge(steps, on=["ladder", "position"], how="left")
    out = out.rename(columns={"day": "step_day"})
    out["stage"] = out["stage"].astype("string")
    # The furthest point reached: the latest taken step of this ladder, or the days
    # overdue at which any earlier decision was taken (a ladder may have changed).
    by_name = (
        done[["item_id", "stage"]].drop_duplicates().merge(out[["item_id", "ladder"]], on="item_id")
    )
    by_name = by_name.merge(steps[["ladder", "stage", "day"]], on=["ladder", "stage"])
    reached = pd.concat(
        [
            by_name.groupby("item_id")["day"].max(),
            done.groupby("item_id")["days_overdue"].max().astype("float64"),
        ],
        axis=1,
    ).max(axis=1)
    passed = out["item_id"].map(reached).astype("float64")  # days even when none match
    due = out["position"] >= 0
    new = due & (passed.isna() | (out["step_day"] > passed))
    pairs = done[["item_id", "stage"]].drop_duplicates().assign(was_taken=True)
    known = out[["item_id", "stage"]].merge(pairs, on=["item_id", "stage"], how="left")
    same = due & ~new & known["was_taken"].fillna(False).astype(bool).to_numpy()
    out["fires"] = pd.Series(pd.NA, index=out.index, dtype="string").mask(new, "new")
    out["fires"] = out["fires"].mask(same, "same")
    return out.drop(columns=["position"])
