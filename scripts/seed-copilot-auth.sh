#!/usr/bin/env bash
# Copy the local OpenCode Copilot login (auth.json) into Doppler for every workspace; safe to re-run.
# A thin wrapper over `ocw secrets seed-copilot`: same flags (--auth-file PATH, --workspace NAME, --project P,
# --config C, --dry-run, --json). Runs from any directory. Re-auth runbook: docs/reauth.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -x "$root/.venv/bin/ocw" ]; then
  ocw="$root/.venv/bin/ocw"
elif command -v ocw >/dev/null 2>&1; then
  ocw=$(command -v ocw)
else
  echo "seed-copilot-auth: ocw is not installed: run 'make setup' in $root" >&2
  exit 2
fi
exec "$ocw" secrets seed-copilot --repo "$root" "$@"
