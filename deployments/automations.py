"""The automations an unattended pipeline needs on a self-hosted Prefect server.

- **Failed or crashed run → a notification** through a Prefect notification block the
  operator chooses (Slack, Teams, PagerDuty, e-mail through SendGrid, any webhook):
  every flow run of a deployment tagged ``echeancier`` that ends ``Failed`` or
  ``Crashed`` sends one message naming the flow, the run, its state message and the
  link to the run in the UI.
- **Zombie runs → Crashed**: a run whose process died (machine lost, OOM-kill) stays
  ``Running`` for ever; without heartbeats for 10 minutes it is marked ``Crashed``, which
  in turn notifies. (Prefect Cloud has this built in; a self-hosted server needs it.)

Both are created or updated by name, so ``make deploy`` can run any number of times.
The block is named as ``<block-type-slug>/<block-name>`` (``slack-webhook/ops-alerts``);
:func:`webhook_block` creates a plain JSON webhook block from a URL for the simple case.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from prefect.automations import Automation
from prefect.blocks.core import Block
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState, SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification

from deployments.catalog import TAGS

FAILURE_AUTOMATION = "echeancier: notify failed or crashed runs"
ZOMBIE_AUTOMATION = "echeancier: crash runs without heartbeat"
WEBHOOK_BLOCK = "echeancier-failures"

SUBJECT = "Échéancier: {{ flow.name }} run {{ flow_run.name }} is {{ flow_run.state.name }}"
BODY = """\
Flow: {{ flow.name }}{% if deployment %} (deployment {{ deployment.name }}){% endif %}
Run: {{ flow_run.name }} ({{ flow_run.id }}), attempt {{ flow_run.run_count }}
State: {{ flow_run.state.name }}: {{ flow_run.state.message }}
Parameters: {{ flow_run.parameters }}
Open it: {{ flow_run|ui_url }}
Retrying is safe: docs/operations.md, "Retrying a run".
"""


def webhook_block(url: str, name: str = WEBHOOK_BLOCK) -> str:
    """Save a JSON webhook notification block posting ``{"subject", "body"}`` to
    ``url``; returns its ``slug/name``."""
    block = CustomWebhookNotificationBlock(
        name=name,
        url=url,
        method="POST",
        json_data={"subject": "{{subject}}", "body": "{{body}}"},
    )
    block.save(name, overwrite=True)
    return f"{CustomWebhookNotificationBlock.get_block_type_slug()}/{name}"


def block_document_id(slug_and_name: str) -> UUID:
    """The document id of a saved notification block (``slack-webhook/ops-alerts``)."""
    block = Block.load(slug_and_name)
    if block._block_document_id is None:  # a loaded block always has one
        raise ValueError(f"notification block {slug_and_name!r} has no document id")
    return block._block_document_id


def failure_automation(block_id: UUID) -> Automation:
    """Notify once per Failed or Crashed run of any ``echeancier`` deployment."""
    return Automation(
        name=FAILURE_AUTOMATION,
        description="A failed or crashed Échéancier run: tell the operators (docs/operations.md).",
        trigger=EventTrigger(
            match=ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
            match_related=ResourceSpecification(
                {"prefect.resource.id": [f"prefect.tag.{tag}" for tag in TAGS]}
            ),
            expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[SendNotification(block_document_id=block_id, subject=SUBJECT, body=BODY)],
    )


def zombie_automation(heartbeat_seconds: int = 180) -> Automation:
    """Prefect's own recipe (docs: detect-zombie-flows): no heartbeat, no end, for three
    heartbeat periods and more → ``Crashed``."""
    return Automation(
        name=ZOMBIE_AUTOMATION,
        description="A run whose process died is marked Crashed (which notifies).",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=max(3 * heartbeat_seconds, 600)),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message="No heartbeat: the run's process is gone (marked by the zombie "
                "automation).",
            )
        ],
    )


def apply(automation: Automation) -> Automation:
    """Create ``automation``, or update the one of the same name in place."""
    try:
        existing = Automation.read(name=automation.name)
    except ValueError:
        return automation.create()
    fields: dict[str, Any] = automation.model_dump(exclude={"id", "owner_resource"})
    updated = Automation(**{**fields, "id": existing.id})
    updated.update()
    return updated


def install(notify_block: str | None) -> list[str]:
    """Apply the zombie automation, and the failure one when a block is configured;
    returns what was done, one line each, for ``make deploy`` to print."""
    done = [f"automation {apply(zombie_automation()).name!r}"]
    if notify_block is None:
        done.append(
            "no notification block configured (ECHEANCIER_NOTIFY_BLOCK or "
            "ECHEANCIER_NOTIFY_WEBHOOK_URL): failed runs notify no one"
        )
        return done
    failure = apply(failure_automation(block_document_id(notify_block)))
    done.append(f"automation {failure.name!r} → block {notify_block}")
    return done
