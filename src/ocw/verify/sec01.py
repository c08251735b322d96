"""P1.5 (SEC-01): no secret in committed manifests.

The roadmap's literal check, `grep -r 'ghp_\\|auth.json' kubernetes/apps/opencode/` (basic regex: `.` is any
character), plus a scan of every built workspace manifest for GitHub token shapes. A match is reported by file and
line only: the matched text may be a secret.
"""

from __future__ import annotations

import re
from pathlib import Path

from ocw.secrets.redact import GITHUB_TOKEN
from ocw.verify.context import VerifyContext
from ocw.verify.result import Outcome, failed, passed

LITERAL_DIR = Path("kubernetes/apps/opencode")
LITERAL = re.compile(r"ghp_|auth.json")


def grep(root: Path, pattern: re.Pattern[str]) -> list[str]:
    hits: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        hits.extend(f"{path}:{n}" for n, line in enumerate(text.splitlines(), 1) if pattern.search(line))
    return hits


def check_no_secrets(ctx: VerifyContext) -> Outcome:
    repo = ctx.options.repo
    root = repo / LITERAL_DIR
    if not root.is_dir():
        return failed(f"the folder {LITERAL_DIR} in {repo}", "no such folder", "pass --repo with the GitOps checkout")
    hits = [str(Path(h).relative_to(repo)) if h.startswith(str(repo)) else h for h in grep(root, LITERAL)]
    if hits:
        return failed(
            f"`grep -r 'ghp_\\|auth.json' {LITERAL_DIR}/` to print nothing",
            f"{len(hits)} matching line(s): {', '.join(hits[:10])}",
            "move the value to Doppler (scripts/seed-copilot-auth.sh, `ocw secrets init`) and reference it through "
            "the ExternalSecret; if it was a real token, revoke it on GitHub",
        )
    token_hits = [
        f"{m.file} ({m.kind} {m.name})"
        for ws in ctx.workspaces
        for m in ws.built.manifests
        if GITHUB_TOKEN.search(str(m.obj))
    ]
    if token_hits:
        return failed(
            "no GitHub token in any built workspace manifest",
            f"token-shaped text in {', '.join(sorted(set(token_hits)))}",
            "move it to Doppler and revoke it on GitHub",
        )
    files = sum(1 for p in root.rglob("*") if p.is_file())
    manifests = sum(len(ws.built.manifests) for ws in ctx.workspaces)
    return passed(
        f"grep -r 'ghp_\\|auth.json' {LITERAL_DIR}/: no match in {files} file(s)",
        f"no GitHub token shape in {manifests} built manifest(s)",
    )
