"""The result, for a person (a table per phase, then what each failure expected, saw, and what to try) or for CI
(`--json`)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ocw.errors import EXIT_FAILED, EXIT_OK
from ocw.verify.result import CheckResult

PHASE_TITLES = {1: "Foundation", 2: "Flux Workspace", 3: "HA Workspace", 4: "Persistence Validation"}
LABELS = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}


def exit_code(results: Sequence[CheckResult]) -> int:
    return EXIT_FAILED if any(r.status == "fail" for r in results) else EXIT_OK


def summary(results: Sequence[CheckResult]) -> dict[str, int]:
    counts = Counter(r.status for r in results)
    return {"passed": counts["pass"], "failed": counts["fail"], "skipped": counts["skip"]}


def render_text(results: Sequence[CheckResult], header: str) -> str:
    lines = [header]
    width = max((len(r.workspace or "-") for r in results), default=1)
    for phase in sorted({r.criterion.phase for r in results}):
        lines.append("")
        lines.append(f"Phase {phase}: {PHASE_TITLES.get(phase, '')}")
        lines.append(f"  {'STATUS':<6}  {'CHECK':<5}  {'WORKSPACE':<{width}}  WHAT")
        for r in (r for r in results if r.criterion.phase == phase):
            lines.append(f"  {LABELS[r.status]:<6}  {r.id:<5}  {(r.workspace or '-'):<{width}}  {r.criterion.title}")
            o = r.outcome
            pad = " " * 10
            if r.status == "fail":
                lines.append(f"{pad}expected: {o.expected}")
                lines.append(f"{pad}seen:     {o.seen}")
                lines.append(f"{pad}next:     {o.next_step}")
            if r.status == "skip":
                lines.append(f"{pad}skipped:  {o.reason}")
            lines.extend(f"{pad}- {line}" for line in o.evidence)
    counts = summary(results)
    lines.append("")
    lines.append(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return "\n".join(lines)


def render_json(results: Sequence[CheckResult], target: dict[str, Any]) -> str:
    document = {
        "target": target,
        "summary": summary(results),
        "exit_code": exit_code(results),
        "results": [r.to_json() for r in results],
    }
    return json.dumps(document, indent=2)
