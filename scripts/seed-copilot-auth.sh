#!/usr/bin/env bash
# Copy the local OpenCode Copilot login (auth.json) into Doppler for every workspace of the repository this script
# lives in (`ocw install` puts it into the cluster repository); safe to re-run.
# A thin wrapper over `ocw secrets seed-copilot`: same flags (--repo DIR, --auth-file PATH, --workspace NAME,
# --doppler-project P, --doppler-config C, --vars FILE, --dry-run, -o json|yaml). Runs from any directory.
# Re-auth runbook: docs/deploy.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -x "$root/.venv/bin/ocw" ]; then
  ocw="$root/.venv/bin/ocw"
elif command -v ocw >/dev/null 2>&1; then
  ocw=$(command -v ocw)
else
  echo "seed-copilot-auth: ocw is not installed: install it (uv tool install or pipx; docs/deploy.md)" >&2
  exit 2
fi
# A --repo given by the caller comes later and wins.
exec "$ocw" secrets seed-copilot --repo "$root" "$@"
