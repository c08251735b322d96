"""P4.3: the Copilot re-auth path works end to end, read-only.

The path is: this machine's login -> (seed script) -> Doppler -> (ExternalSecret) -> the workspace Secret ->
(Reloader + init step) -> OpenCode. Checked here: the seed script's dry-run finds Doppler already holding this
machine's login, the cluster Secret carries the same document as Doppler (compared by SHA-256 in memory), and the
workspace shows Copilot connected. The restart half is P4.4's --disruptive cycle.
"""

from __future__ import annotations

import hashlib

from ocw.component import SecretRole
from ocw.errors import OcwError
from ocw.verify.context import VerifyContext
from ocw.verify.doppler import SEED_SCRIPT, seed_dry_run
from ocw.verify.result import Outcome, failed, passed, skipped
from ocw.verify.workspace_http import check_copilot
from ocw.workspace import Workspace

ROLE: SecretRole = "COPILOT_AUTH_JSON"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def check_reauth(ctx: VerifyContext, ws: Workspace) -> Outcome:
    store = ctx.store()
    if isinstance(store, OcwError):
        return skipped(f"Doppler is not configured here: {store.message}")
    variable = ws.doppler_keys.get(ROLE)
    key = ctx.secret_key(ws, ROLE)
    if not variable or not key:
        return failed(f"the tree to name the {ROLE} variable and Secret key", "none", "run `ocw check`")
    evidence: list[str] = []
    report = seed_dry_run(ctx)
    if isinstance(report, Outcome):
        if report.status == "fail":
            return failed(f"{SEED_SCRIPT} --dry-run to run", str(report.seen), str(report.next_step))
        evidence.append(f"seed dry-run not run: {report.reason}")
    else:
        mine = [v for v in report.get("variables") or [] if v.get("name") == variable]
        outcome = mine[0].get("outcome") if mine else "not reported"
        if outcome != "unchanged":
            return failed(
                f"Doppler's {variable} to hold this machine's Copilot login ({SEED_SCRIPT} --dry-run: unchanged)",
                str(outcome),
                f"run {SEED_SCRIPT}; the ExternalSecret then updates the Secret and Reloader restarts the pod",
            )
        evidence.append(f"{SEED_SCRIPT} --dry-run: {variable} unchanged")
    doppler_value = store.get(variable)
    secret = ctx.secret(ws)
    if secret.error is not None:
        return failed(f"to read Secret {ws.secret_name}", secret.error.message, secret.error.hint or "", *evidence)
    cluster_value = secret.values.get(key)
    if not doppler_value or not cluster_value:
        return failed(
            f"{variable} in Doppler and {key} in Secret {ws.secret_name} both set",
            f"Doppler: {'set' if doppler_value else 'empty'}, Secret: {'set' if cluster_value else 'empty'}",
            f"run {SEED_SCRIPT}, then `kubectl -n {ws.namespace} describe externalsecret {ws.name}`",
            *evidence,
        )
    if _digest(doppler_value) != _digest(cluster_value):
        return failed(
            f"Secret {ws.secret_name} key {key} identical to Doppler's {variable}",
            "they differ (compared by SHA-256)",
            "the ExternalSecret has not synced yet (refreshInterval) or cannot: `kubectl -n "
            f"{ws.namespace} annotate externalsecret {ws.name} force-sync=$(date +%s) --overwrite`",
            *evidence,
        )
    evidence.append(f"Secret {ws.secret_name} key {key} = Doppler {variable} (SHA-256 compared)")
    copilot = check_copilot(ctx.endpoint(ws))
    if copilot.status != "pass":
        return failed(
            "the workspace to show Copilot connected with the synced login",
            str(copilot.seen),
            "restart the pod (Reloader does it on a Secret change) and read the init log: it says whether it "
            "seeded Copilot",
            *evidence,
        )
    return passed(*evidence, *copilot.evidence)
