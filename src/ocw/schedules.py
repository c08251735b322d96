"""How long a VolSync backup schedule may leave between two runs: the cron forms used for backups, `M * * * *`
(hourly), `*/N * * * *`, `M H * * *` (daily), `M */N * * *`, lists of minutes or hours (the longest gap counts), and
`@hourly` / `@daily` / `@weekly`. `ocw verify` (P4.2) and the backup alert's window (`ocw check`) both use it."""

from __future__ import annotations

import itertools

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_MACROS = {"@hourly": HOUR, "@daily": DAY, "@midnight": DAY, "@weekly": 7 * DAY}


class UnknownSchedule(ValueError):
    pass


def _largest_gap(field: str, span: int) -> int | None:
    """The longest gap (in units) between the values a cron field selects; None for `*`."""
    if field == "*":
        return None
    if field.startswith("*/") and field[2:].isdigit() and int(field[2:]) > 0:
        return int(field[2:])
    values = sorted({int(v) for v in field.split(",") if v.isdigit()})
    if not values or len(values) != len(field.split(",")):
        raise UnknownSchedule(field)
    gaps = [b - a for a, b in itertools.pairwise(values)] + [span - values[-1] + values[0]]
    return max(gaps)


def schedule_period(schedule: str) -> int:
    """The longest time between two runs of `schedule`, in seconds."""
    text = schedule.strip()
    if text in _MACROS:
        return _MACROS[text]
    fields = text.split()
    if len(fields) != 5 or any(f != "*" for f in fields[2:]):
        raise UnknownSchedule(schedule)
    minute, hour = fields[0], fields[1]
    minute_gap = _largest_gap(minute, 60)
    hour_gap = _largest_gap(hour, 24)
    if hour_gap is None:
        if minute_gap is None:
            return MINUTE
        return minute_gap * MINUTE if minute.startswith("*/") or "," in minute else HOUR
    if minute_gap is None or minute.startswith("*/"):
        raise UnknownSchedule(schedule)  # several runs inside selected hours: not a backup schedule
    return hour_gap * HOUR
