"""``python -m deployments <command>``: what ``make deploy`` and an operator run.

- ``list``: the catalogue, and which flows exist in this checkout;
- ``render``: rewrite ``prefect.yaml`` from the catalogue;
- ``deploy``: create the process work pool, apply the deployments whose flow exists
  (``prefect deploy --name …``), and install the automations (failure notification
  through ``--notify-block`` / ``ECHEANCIER_NOTIFY_BLOCK``, or a webhook block made from
  ``--notify-webhook`` / ``ECHEANCIER_NOTIFY_WEBHOOK_URL``; zombie runs → Crashed);
- ``serve``: run the available deployments from this process, without a pool or worker
  (a laptop's alternative to ``make worker``; stopping it pauses their schedules).

Needs ``PREFECT_API_URL`` pointing at a server (``make server``) for all but ``list`` and
``render``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence

from deployments import automations, catalog, render


def ensure_pool(name: str = catalog.POOL) -> str:
    """Create the process work pool unless it exists."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))
        except ObjectAlreadyExists:
            return f"work pool {name!r} already exists"
    return f"work pool {name!r} created (type process)"


def deploy(names: Sequence[str], env: dict[str, str] | None = None) -> None:
    """``prefect deploy`` of ``names`` from ``prefect.yaml`` at the project root."""
    command = [sys.executable, "-m", "prefect", "--no-prompt", "deploy"]
    for name in names:
        command += ["--name", name]
    run_env = {**os.environ, **(env or {}), "PWD": str(render.ROOT)}
    subprocess.run(command, cwd=render.ROOT, env=run_env, check=True)


def _notify_block(args: argparse.Namespace) -> str | None:
    if args.notify_block:
        return str(args.notify_block)
    if args.notify_webhook:
        return automations.webhook_block(args.notify_webhook)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deployments", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the catalogue and which flows exist")
    sub.add_parser("render", help="rewrite prefect.yaml from the catalogue")
    deploy_cmd = sub.add_parser("deploy", help="work pool, deployments, automations")
    deploy_cmd.add_argument(
        "--notify-block",
        default=os.environ.get("ECHEANCIER_NOTIFY_BLOCK") or None,
        help="a saved notification block, <type-slug>/<name> (e.g. slack-webhook/ops)",
    )
    deploy_cmd.add_argument(
        "--notify-webhook",
        default=os.environ.get("ECHEANCIER_NOTIFY_WEBHOOK_URL") or None,
        help="a URL: a JSON webhook block is saved and notified",
    )
    sub.add_parser("serve", help="serve the available deployments from this process")
    args = parser.parse_args(argv)

    if args.command == "render":
        print(f"wrote {render.write()}")
        return 0
    if args.command == "list":
        for d in catalog.DEPLOYMENTS:
            try:
                state = "ready" if catalog.importable(d) else "not built yet"
            except Exception as exc:  # a module being written: say so, list the rest
                state = f"does not import: {type(exc).__name__}: {exc}"
            when = d.cron or ("by nightly" if d.launched_by_nightly else "manual")
            print(f"{d.full_name:36} {when:12} {state}")
        return 0
    ready = catalog.available()
    if args.command == "serve":
        serve(ready)
        return 0
    print(ensure_pool())
    skipped = [d.name for d in catalog.DEPLOYMENTS if d not in ready]
    deploy([d.deployment_name for d in ready])
    if skipped:
        print(f"skipped (flow module not built yet): {', '.join(skipped)}")
    for line in automations.install(_notify_block(args)):
        print(line)
    return 0


def serve(ready: Sequence[catalog.Deployment]) -> None:
    """The same deployments, served by this process (Ctrl-C stops and pauses them)."""
    from prefect import serve as prefect_serve
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.schedules import Cron

    prefect_serve(
        *(
            catalog.load_flow(d).to_deployment(
                name=d.name,
                description=d.description,
                tags=[*catalog.TAGS, *d.tags],
                schedules=[Cron(d.cron, timezone=catalog.TIMEZONE)] if d.cron else [],
                parameters=d.parameters or None,
                concurrency_limit=ConcurrencyLimitConfig(
                    limit=d.concurrency, collision_strategy=d.collision
                ),
            )
            for d in ready
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
