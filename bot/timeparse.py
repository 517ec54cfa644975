"""`--since` values: a duration before now (30m, 24h, 7d, 2w) or an ISO date/datetime."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from indexer.errors import ConfigError

_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime) -> datetime:
    """'7d', '24h', '30m', '2w' before now, or an ISO date/datetime (UTC unless it says otherwise)."""
    m = _DURATION.match(value.strip().lower())
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"--since {value!r} is neither a duration nor a date", hint="use e.g. 7d, 24h or 2026-01-31") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=now.tzinfo)
