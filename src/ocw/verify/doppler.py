"""Phase 1 in Doppler: the workspace variables (P1.3) and the seed script's idempotency (P1.4).

Values are read into memory only to tell empty from set; nothing about a value but "set"/"empty" is reported.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from ocw.errors import OcwError
from ocw.secrets.copilot import default_auth_file
from ocw.verify.context import VerifyContext
from ocw.verify.result import Outcome, failed, passed, skipped

SEED_SCRIPT = Path("scripts/seed-copilot-auth.sh")
SEED_TIMEOUT = 90.0


def _no_doppler(error: OcwError) -> Outcome:
    return skipped(f"Doppler is not configured here: {error.message}")


def check_variables(ctx: VerifyContext) -> Outcome:
    store = ctx.store()
    if isinstance(store, OcwError):
        return _no_doppler(store)
    wanted = [name for ws in ctx.workspaces for name in ws.doppler_keys.values()]
    if not wanted:
        return failed("workspace variables named by the ExternalSecrets", "none in the tree", "run `ocw check`")
    try:
        values = store.get_many(wanted)
    except OcwError as exc:
        return failed(f"to read {len(wanted)} variables from {store.describe()}", exc.message, exc.hint or "")
    missing = [n for n in wanted if n not in values]
    empty = [n for n in wanted if n in values and not values[n].strip()]
    evidence = [f"{store.describe()}"] + [f"{n}: set" for n in wanted if n not in missing and n not in empty]
    if missing or empty:
        seen = "; ".join(
            part
            for part in (
                f"missing: {', '.join(missing)}" if missing else "",
                f"empty: {', '.join(empty)}" if empty else "",
            )
            if part
        )
        return failed(
            f"all {len(wanted)} variables present and non-empty in {store.project}/{store.config}",
            seen,
            "create them: `ocw secrets init` (password, GitHub token) and scripts/seed-copilot-auth.sh (Copilot)",
            *evidence,
        )
    return passed(*evidence)


def seed_dry_run(ctx: VerifyContext) -> dict[str, Any] | Outcome:
    """The seed script's `--dry-run --json` report (cached), or the Outcome explaining why there is none."""
    if "seed" not in ctx.cache:
        ctx.cache["seed"] = _run_seed(ctx)
    result: dict[str, Any] | Outcome = ctx.cache["seed"]
    return result


def _run_seed(ctx: VerifyContext) -> dict[str, Any] | Outcome:
    script = ctx.options.repo / SEED_SCRIPT
    if not script.is_file():
        return failed(f"{SEED_SCRIPT} in {ctx.options.repo}", "no such file", "restore it from the project")
    if not os.access(script, os.X_OK):
        return failed(f"{SEED_SCRIPT} executable", "not executable", f"chmod +x {SEED_SCRIPT}")
    store = ctx.store()
    if isinstance(store, OcwError):
        return _no_doppler(store)
    auth_file = default_auth_file()
    if not auth_file.is_file():
        return skipped(f"no local Copilot login at {auth_file} to compare with Doppler (run `opencode auth login`)")
    command = [str(script), "--dry-run", "--json", "--project", store.project, "--config", store.config]
    for name in ctx.options.workspaces:
        command += ["--workspace", name]
    try:
        done = subprocess.run(  # a fixed script path and flags: no value in argv
            command, capture_output=True, text=True, timeout=SEED_TIMEOUT, check=False, cwd=ctx.options.repo
        )
    except subprocess.TimeoutExpired:
        return failed(
            f"{SEED_SCRIPT} --dry-run to finish within {SEED_TIMEOUT:g} s",
            "still running",
            "check that Doppler answers (`doppler me`)",
        )
    stderr = done.stderr.strip().splitlines()  # ocw secrets never prints a value
    if done.returncode != 0:
        return failed(
            f"{SEED_SCRIPT} --dry-run to exit 0",
            f"exit {done.returncode}: {stderr[-1] if stderr else 'no message'}",
            f"run `{SEED_SCRIPT} --dry-run` yourself to see the whole message",
        )
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        return failed(f"a JSON report from {SEED_SCRIPT} --dry-run --json", "unparsable output", "run it yourself")
    return report


def check_seed_script(ctx: VerifyContext) -> Outcome:
    report = seed_dry_run(ctx)
    if isinstance(report, Outcome):
        return report
    variables = report.get("variables") or []
    changed = [f"{v.get('name')} ({v.get('outcome')})" for v in variables if v.get("outcome") != "unchanged"]
    evidence = [f"{SEED_SCRIPT} --dry-run against {report.get('project')}/{report.get('config')}"]
    if not variables or changed:
        return failed(
            "a dry-run to report every Copilot variable unchanged (Doppler already holds this machine's login)",
            ", ".join(changed) or "no variable reported",
            f"run {SEED_SCRIPT} (without --dry-run) to copy the current login, then verify again",
            *evidence,
        )
    evidence += [f"{v.get('name')}: unchanged" for v in variables]
    return passed(*evidence)
