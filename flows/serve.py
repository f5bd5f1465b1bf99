"""Wellspring's deployments served from one process: no work pool, no worker, no paths in any file.

``prefect.serve`` registers each deployment with the Prefect server, then runs its scheduled and on-demand
flow runs as subprocesses of this process until it stops (and pauses the schedules when it does). The
schedules themselves fire in the server's scheduler, so a real server must be running (``make ui``).
Each deployment is one factory in :data:`DEPLOYMENTS`: the scheduled nightly run and the on-demand build.

Served deployments are named ``<name>-served`` so they never update the work-pool deployments of
``prefect.yaml``: serving ``nightly`` itself would leave its work pool set and, on shutdown, pause the
worker's schedule too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prefect import serve as prefect_serve
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron, Schedule

from flows.build import build_dataset_flow
from flows.nightly import nightly_flow
from tasks.core.errors import WellspringError

NIGHTLY_CRON = "0 2 * * *"
TIMEZONE = "UTC"


@dataclass(frozen=True)
class ServeOptions:
    """What the served deployments share: the data root, the nightly inbox and when the nightly run starts."""

    home: str
    inbox: str
    cron: str = NIGHTLY_CRON


def _cron(expression: str) -> Schedule:
    try:
        return Cron(expression, timezone=TIMEZONE)
    except ValueError:
        raise WellspringError(
            f"{expression!r} is not a cron expression; use five fields, e.g. {NIGHTLY_CRON!r} (02:00 {TIMEZONE})"
        ) from None


def nightly_deployment(opts: ServeOptions) -> RunnerDeployment:
    # A module entrypoint: the served run imports the installed package, whatever its working directory.
    # `to_deployment` is typed for async callers too; called synchronously it returns the deployment.
    return nightly_flow.to_deployment(  # type: ignore[return-value]
        name="nightly-served",
        schedules=[_cron(opts.cron)],
        parameters={"inbox": opts.inbox, "home": opts.home},
        tags=["nightly"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def build_deployment(opts: ServeOptions) -> RunnerDeployment:
    # On demand: `name` and `size` (and optionally seed, min_human, reservoir_version) come with each run.
    return build_dataset_flow.to_deployment(  # type: ignore[return-value]
        name="build-served",
        parameters={"home": opts.home},
        tags=["build"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


DEPLOYMENTS: tuple[Callable[[ServeOptions], RunnerDeployment], ...] = (nightly_deployment, build_deployment)


def deployments(opts: ServeOptions) -> list[RunnerDeployment]:
    """Every served deployment, built (and checked) before anything is registered."""
    return [make(opts) for make in DEPLOYMENTS]


def serve(home: str, inbox: str, cron: str = NIGHTLY_CRON) -> None:
    """Register the deployments and run their flow runs from this process until it is stopped."""
    prefect_serve(*deployments(ServeOptions(home=home, inbox=inbox, cron=cron)))
