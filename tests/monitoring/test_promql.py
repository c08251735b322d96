"""Reading label matchers and durations out of PromQL, as the monitoring checks do."""

from __future__ import annotations

import pytest

from ocw.monitoring.promql import Matcher, duration, durations, matchers, seconds


def test_matchers_are_read_with_their_operator_and_unescaped_value() -> None:
    expr = 'sum by (a) (x{role="source", name!="a\\"b", pod=~"w-[a-z0-9]+", c!~"d"}[2h]) and on (a) y{z="1"}'
    assert matchers(expr) == [
        Matcher("role", "=", "source"),
        Matcher("name", "!=", 'a"b'),
        Matcher("pod", "=~", "w-[a-z0-9]+"),
        Matcher("c", "!~", "d"),
        Matcher("z", "=", "1"),
    ]
    assert str(matchers(expr)[2]) == 'pod=~"w-[a-z0-9]+"'


def test_ranges_subqueries_and_offsets_are_durations() -> None:
    assert durations("increase(x[2h]) + y[5m:1m] + sum(z offset 1h30m) + w[ 10m ]") == ["2h", "5m", "10m", "1h30m"]


@pytest.mark.parametrize(("text", "value"), [("2h", 7200), ("1h30m", 5400), ("2d", 172800), ("500ms", 0.5)])
def test_durations_convert_both_ways(text: str, value: float) -> None:
    assert seconds(text) == value
    if value >= 1:
        assert duration(value) == text


def test_a_non_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        seconds("2 hours")
