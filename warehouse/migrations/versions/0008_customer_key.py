"""customer_key: the keyed hash analysts group customers by (docs/privacy.md).

``dunning_actions``, ``notice_exceptions`` and ``vat_lines`` get ``customer_key``
(HMAC-SHA256 of the customer id under ``ECHEANCIER_PSEUDONYM_KEY``), filled by the
nightly ``retention`` flow; rows written before it have NULL until its next run.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("dunning_actions", "notice_exceptions", "vat_lines")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("customer_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("customer_key")
