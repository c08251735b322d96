"""P4.2: the workspace volume's VolSync backup ran recently and succeeded.

"Recently" is within two schedule periods. The period comes from `spec.trigger.schedule`; the cron forms used for
backups are understood: `M * * * *` (hourly), `*/N * * * *`, `M H * * *` (daily), `M */N * * *`, lists of minutes or
hours (the longest gap counts), and `@hourly` / `@daily` / `@weekly`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ocw.schedules import HOUR, MINUTE, UnknownSchedule, schedule_period
from ocw.verify.cluster import REPLICATIONSOURCE
from ocw.verify.conditions import condition, describe
from ocw.verify.context import VerifyContext
from ocw.verify.pods import parse_time
from ocw.verify.result import Outcome, failed, passed
from ocw.workspace import Workspace


def replication_source_name(ws: Workspace) -> str:
    for manifest in ws.built.manifests:
        if manifest.kind == "ReplicationSource":
            return manifest.name
    return ws.name


def check_backup(ctx: VerifyContext, ws: Workspace, now: datetime | None = None) -> Outcome:
    name = replication_source_name(ws)
    label = f"ReplicationSource {ws.namespace}/{name}"
    source = ctx.cluster.get(REPLICATIONSOURCE, name, ws.namespace)
    if source is None:
        return failed(label, "does not exist", f"reconcile the Kustomization {ws.built.kustomization.name}")
    schedule = str(((source.get("spec") or {}).get("trigger") or {}).get("schedule") or "")
    status = source.get("status") or {}
    try:
        period = schedule_period(schedule)
    except UnknownSchedule:
        return failed(
            "a cron schedule this check understands (e.g. `35 * * * *`)",
            f"spec.trigger.schedule {schedule!r}",
            "use an hourly or daily schedule, as the cluster's other backups do",
        )
    last = parse_time(status.get("lastSyncTime"))
    result = (status.get("latestMoverStatus") or {}).get("result")
    moment = now or datetime.now(UTC)
    evidence = [f"{label}: schedule {schedule!r} (every {timedelta(seconds=period)} at most)"]
    if last is None:
        return failed(
            "status.lastSyncTime set (a backup has completed)",
            f"no lastSyncTime; {describe('Synchronizing', condition(source, 'Synchronizing'))}",
            f"`kubectl -n {ws.namespace} describe replicationsource {name}` and the mover pod's log "
            "(volsync-src-...): restic credentials in the ExternalSecret " + f"{name}-volsync, MinIO reachable",
            *evidence,
        )
    age = moment - last
    evidence.append(f"lastSyncTime {status.get('lastSyncTime')} ({_age(age)} ago)")
    if age > timedelta(seconds=2 * period):
        return failed(
            f"lastSyncTime within two periods ({timedelta(seconds=2 * period)})",
            f"last sync {_age(age)} ago",
            f"`kubectl -n {ws.namespace} describe replicationsource {name}`; is the mover failing or stuck?",
            *evidence,
        )
    if result != "Successful":
        logs = (status.get("latestMoverStatus") or {}).get("logs")
        return failed(
            "latestMoverStatus.result Successful",
            f"result {result}" + (f"; mover log tail: {str(logs)[-300:]}" if logs else ""),
            "read the mover's log (status.latestMoverStatus.logs) and fix the restic repository or credentials",
            *evidence,
        )
    evidence.append("latestMoverStatus.result Successful")
    next_sync = status.get("nextSyncTime")
    if next_sync:
        evidence.append(f"nextSyncTime {next_sync}")
    return passed(*evidence)


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "0s"
    hours, rest = divmod(seconds, HOUR)
    return f"{hours}h{rest // MINUTE:02d}m" if hours else f"{rest // MINUTE}m{rest % MINUTE:02d}s"
