"""The vocabulary of the suites: a check is a GX expectation plus what a failure means.

A ``row`` check judges each row on its own: the rows it rejects are quarantined with
the check's reason (``payments.currency: expect_column_values_to_be_in_set (ISO 4217)``)
and the others go on. A ``table`` check judges the table as a whole (duplicate keys, an
empty table the provider had rows for, too many broken links): its failure fails the
gate and stops the chain before anything acts on the data.

GX has no cross-table expectation, so a referential link is a ``Link``: the gate
computes, with pandas, a boolean column (``customer_id__known``) that is true when the
row's reference is empty or found in the parent table, and the suite expects it true —
per row (quarantine the orphan) and, with ``mostly``, per table (fail when more than a
few percent of the rows are orphans: that smells of a broken sync, not of bad records).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # spec stays light: domain.quality imports it without loading GX
    import great_expectations.expectations as gxe

Level = Literal["row", "table"]
WHOLE_SUFFIX = "__whole"
KNOWN_SUFFIX = "__known"


@dataclass(frozen=True)
class Check:
    """One expectation of a suite, its level, and why it exists (shown as the reason)."""

    expectation: gxe.Expectation
    level: Level
    why: str

    @property
    def name(self) -> str:
        return self.expectation.expectation_type

    @property
    def column(self) -> str:
        """The column (or ``A,B`` pair, or ``table``) the check is about, for the reason."""
        kwargs = self.expectation.configuration.kwargs
        if "column" in kwargs:
            return str(kwargs["column"]).removesuffix(WHOLE_SUFFIX).removesuffix(KNOWN_SUFFIX)
        if "column_A" in kwargs:
            return f"{kwargs['column_A']},{kwargs['column_B']}"
        if "column_list" in kwargs:
            return ",".join(kwargs["column_list"])
        return "table"


@dataclass(frozen=True)
class Link:
    """``column`` refers to ``parent.parent_key``; empty references are not checked."""

    column: str
    parent: str
    parent_key: str
    max_broken: float = 0.05  # above this share of orphans the table fails

    @property
    def flag(self) -> str:
        return f"{self.column}{KNOWN_SUFFIX}"


@dataclass(frozen=True)
class TableSuite:
    """What the gate reads of one table and what it expects of it."""

    table: str
    key: tuple[str, ...]
    columns: tuple[str, ...]  # read for validation besides the key; never email or name
    checks: tuple[Check, ...]
    money: tuple[str, ...] = ()  # integral minor units: checked through ``<col>__whole``
    links: tuple[Link, ...] = field(default_factory=tuple)

    @property
    def read_columns(self) -> tuple[str, ...]:
        """Key, provider and the checked columns, without repeats, in a stable order."""
        wanted = (*self.key, "provider", *self.columns, *self.money)
        wanted += tuple(link.column for link in self.links)
        return tuple(dict.fromkeys(wanted))

    def reason(self, check: Check) -> str:
        """``payments.currency: expect_column_values_to_be_in_set (ISO 4217)``."""
        return f"{self.table}.{check.column}: {check.name} ({check.why})"


def row(expectation: gxe.Expectation, why: str) -> Check:
    return Check(expectation, "row", why)


def table(expectation: gxe.Expectation, why: str) -> Check:
    return Check(expectation, "table", why)
