"""`ocw verify`'s table as a person reads it: one table per phase, the plain name beside each roadmap id, and under a
failure what was expected, what was seen and what to try next. The text is compared with a recorded snapshot
(`pytest --snapshot-update` rewrites it after a deliberate change)."""

from __future__ import annotations

from syrupy.assertion import SnapshotAssertion

from ocw.verify.registry import criterion
from ocw.verify.report import render_text
from ocw.verify.result import CheckResult, failed, passed, skipped

RESULTS = (
    CheckResult(criterion("P1.1"), None, passed("namespace opencode: Active, prune: disabled")),
    CheckResult(
        criterion("P2.1"),
        "opencode-flux",
        passed("without credentials: HTTP 401", "with the password: / serves the web UI (text/html)"),
    ),
    CheckResult(
        criterion("P3.2"),
        "opencode-ha",
        failed(
            "github-copilot among the connected providers",
            "connected: []",
            "seed the Copilot login again: scripts/seed-copilot-auth.sh --repo DIR",
            "GET /provider: 0 connected",
        ),
    ),
    CheckResult(criterion("MON.2"), "opencode-flux", skipped("no Copilot answer in the recent sessions")),
)


def test_the_table_reads_as_recorded(snapshot: SnapshotAssertion) -> None:
    assert render_text(RESULTS, "ocw verify https://flux.opencode.example.test") == snapshot


def test_a_pipe_gets_no_colour_or_marks() -> None:
    text = render_text(RESULTS, "header")
    assert "\x1b[" not in text and "✓" not in text and "✗" not in text
    assert text.endswith("2 passed, 1 failed, 1 skipped")
