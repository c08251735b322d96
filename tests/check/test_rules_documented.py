"""Every rule id ocw check can report has a row in docs/check-rules.md."""

from __future__ import annotations

from check.tree_copy import REPO
from ocw.check.rules import RULES


def test_every_rule_has_a_documented_row() -> None:
    text = (REPO / "docs" / "check-rules.md").read_text()
    missing = [rule for rule in RULES if f"| `{rule}` |" not in text]
    assert not missing, f"rules without a row in docs/check-rules.md: {missing}"
