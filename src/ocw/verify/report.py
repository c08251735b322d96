"""The result, for a person (a table per phase, then what each failure expected, saw, and what to try) or for CI
(`--json`)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ocw.console import mark, paint
from ocw.errors import EXIT_FAILED, EXIT_OK
from ocw.verify.result import CheckResult

PHASE_TITLES = {1: "Foundation", 2: "Flux Workspace", 3: "HA Workspace", 4: "Persistence Validation"}
LABELS = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}


def exit_code(results: Sequence[CheckResult]) -> int:
    return EXIT_FAILED if any(r.status == "fail" for r in results) else EXIT_OK


def summary(results: Sequence[CheckResult]) -> dict[str, int]:
    counts = Counter(r.status for r in results)
    return {"passed": counts["pass"], "failed": counts["fail"], "skipped": counts["skip"]}


def _status(status: str) -> str:
    """The status word, padded, with its mark and colour on a terminal (plain in a pipe or a file)."""
    word = f"{LABELS[status]:<6}"
    if status == "pass":
        return mark(True) + paint(word, "green")
    if status == "fail":
        return mark(False) + paint(word, "red")
    return mark(None) + paint(word, "yellow")


def render_text(results: Sequence[CheckResult], header: str) -> str:
    lines = [header]
    width = max((len(r.workspace or "-") for r in results), default=1)
    names = max((len(r.criterion.name) for r in results), default=4)
    for phase in sorted({r.criterion.phase for r in results}):
        lines.append("")
        lines.append(f"Phase {phase}: {PHASE_TITLES.get(phase, '')}")
        lines.append(f"  {'STATUS':<6}  {'CHECK':<5}  {'NAME':<{names}}  {'WORKSPACE':<{width}}  WHAT")
        for r in (r for r in results if r.criterion.phase == phase):
            lines.append(
                f"  {_status(r.status)}  {r.id:<5}  {r.criterion.name:<{names}}  {(r.workspace or '-'):<{width}}  "
                f"{r.criterion.title}"
            )
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


def document(results: Sequence[CheckResult], target: dict[str, Any]) -> dict[str, Any]:
    return {
        "target": target,
        "summary": summary(results),
        "exit_code": exit_code(results),
        "results": [r.to_json() for r in results],
    }


def render_json(results: Sequence[CheckResult], target: dict[str, Any]) -> str:
    return json.dumps(document(results, target), indent=2)
