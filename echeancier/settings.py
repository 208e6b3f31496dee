"""One typed settings object, read once at the edge (CLI, flow entry) and passed down.

Every variable is the contract of DESIGN §3.2. Secrets are ``SecretStr`` so that
a settings object printed in a log or a traceback shows ``**********``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    database_url: str = Field("sqlite:///var/echeancier.db", alias="DATABASE_URL")

    stripe_api_key: SecretStr | None = Field(None, alias="STRIPE_API_KEY")
    stripe_api_base: str = Field("https://api.stripe.com", alias="STRIPE_API_BASE")
    gocardless_access_token: SecretStr | None = Field(None, alias="GOCARDLESS_ACCESS_TOKEN")
    gocardless_base_url: str = Field("https://api.gocardless.com", alias="GOCARDLESS_BASE_URL")
    aftership_api_key: SecretStr | None = Field(None, alias="AFTERSHIP_API_KEY")
    aftership_tracking_sdk_domain: str = Field(
        "https://api.aftership.com", alias="AFTERSHIP_TRACKING_SDK_DOMAIN"
    )
    sendgrid_api_key: SecretStr | None = Field(None, alias="SENDGRID_API_KEY")
    sendgrid_host: str = Field("https://api.sendgrid.com", alias="SENDGRID_HOST")

    timezone: str = Field("Europe/Paris", alias="ECHEANCIER_TIMEZONE")
    policies: Path = Field(Path("policies"), alias="ECHEANCIER_POLICIES")
    # Seconds before the stored Stripe event cursor a night reads again: an event Stripe
    # lists late lands behind the cursor (docs/operations.md, `sync_state`).
    stripe_event_overlap_s: int = Field(300, alias="ECHEANCIER_STRIPE_EVENT_OVERLAP_S", ge=0)

    # Who mails come from and go to when they are not a customer's: finance's own
    # reminders (tax deadlines, overdue refunds) and the From of every customer mail.
    mail_from: str = Field("factures@example.com", alias="ECHEANCIER_MAIL_FROM")
    finance_email: str = Field("finance@example.com", alias="ECHEANCIER_FINANCE_EMAIL")
    # The shop's customer portal: "pay now" / "update your card" links are built on it.
    portal_url: str = Field("https://shop.example.com/account", alias="ECHEANCIER_PORTAL_URL")
    # The secret of ``customer_key`` (HMAC-SHA256 of the customer id) in the analytics
    # tables; unset, the column stays empty (docs/privacy.md).
    pseudonym_key: SecretStr | None = Field(None, alias="ECHEANCIER_PSEUDONYM_KEY")
    # Where files for people are written: tax returns (CSV/XLSX), the finance report.
    reports_dir: Path = Field(Path("var/reports"), alias="ECHEANCIER_REPORTS")
    # How many mails the outbox sender has in flight at once (tasks/outbox.py): each waits
    # on SendGrid's answer, not on us; the SendGrid token bucket still caps the rate.
    outbox_send_workers: int = Field(8, alias="ECHEANCIER_OUTBOX_SEND_WORKERS", ge=1, le=64)
    # How many customers the dunning decisions read and decide at a time (tasks/partitions.py):
    # memory follows the partition, not the shop (the large shop's decisions at 50,000: under
    # 1 GB with text in arrow buffers; each partition costs a scan of every table it reads).
    dunning_partition_size: int = Field(50_000, alias="ECHEANCIER_DUNNING_PARTITION_SIZE", ge=1)
    # How many customers the tax step reads and turns into VAT lines at a time (tasks/tax.py):
    # the same idea for the VAT lines of the whole history (8 GB at once on the large shop).
    tax_partition_size: int = Field(50_000, alias="ECHEANCIER_TAX_PARTITION_SIZE", ge=1)

    def pseudonym_secret(self) -> str | None:
        """The ``customer_key`` secret, or ``None`` when unset or empty (keys stay empty)."""
        if self.pseudonym_key is None:
            return None
        return self.pseudonym_key.get_secret_value() or None

    @field_validator("policies")
    @classmethod
    def _shipped_policies(cls, folder: Path) -> Path:
        """A relative folder that is not under the working directory is the project's own
        (so ``echeancier run`` works from any directory with the shipped policies)."""
        if folder.is_absolute() or folder.exists():
            return folder
        shipped = Path(__file__).resolve().parents[1] / folder
        return shipped if shipped.exists() else folder


def load_settings() -> Settings:
    """Read the environment now (never at import time)."""
    return Settings()
