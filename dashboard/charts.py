"""Chart data of the performance page: exact sums turned into decimal strings.

Amounts stay exact integers until the last step, where each is written as a
decimal string with its token's decimals (and also as the integer string), so
the JSON never carries a float; Chart.js parses the strings for drawing only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from dashboard.presenters import NATIVE_DECIMALS
from trading.selectors import Performance, amount_to_units


def _labels(perf: Performance) -> list[str]:
    fmt = "%b %d %H:%M" if perf.bucket == "hour" else "%b %d"
    return [timezone.localtime(start, perf.zone).strftime(fmt) for start in perf.buckets]


def performance_json(perf: Performance, *, native_symbol: str = "ETH") -> dict[str, Any]:
    """The JSON document the performance charts draw."""
    success_rate: list[str | None] = []
    for ok, settled in zip(perf.successful, perf.settled, strict=True):
        success_rate.append(None if not settled else f"{Decimal(ok) * 100 / Decimal(settled):.2f}")
    per_hour = [
        f"{Decimal(n) / perf.bucket_hours:.2f}".rstrip("0").rstrip(".") or "0"
        for n in perf.opportunities
    ]
    return {
        "range": {
            "since": perf.since.isoformat(),
            "until": perf.until.isoformat(),
            "bucket": perf.bucket,
            "mode": perf.mode,
            "time_zone": str(perf.zone),
        },
        "labels": _labels(perf),
        "tokens": [
            {
                "symbol": series.symbol,
                "decimals": series.decimals,
                "trades": series.trades,
                "profit": [amount_to_units(v, series.decimals) for v in series.profit],
                "profit_wei": [str(v) for v in series.profit],
                "cumulative": [amount_to_units(v, series.decimals) for v in series.cumulative],
                "cumulative_wei": [str(v) for v in series.cumulative],
                "total": amount_to_units(series.total, series.decimals),
                "total_wei": str(series.total),
            }
            for series in perf.tokens
        ],
        "gas": {
            "symbol": native_symbol,
            "values": [amount_to_units(v, NATIVE_DECIMALS) for v in perf.gas_cost_wei],
            "values_wei": [str(v) for v in perf.gas_cost_wei],
            "total": amount_to_units(sum(perf.gas_cost_wei), NATIVE_DECIMALS),
            "total_wei": str(sum(perf.gas_cost_wei)),
        },
        "trades": list(perf.trades),
        "successful": list(perf.successful),
        "settled": list(perf.settled),
        "success_rate": success_rate,
        "opportunities": list(perf.opportunities),
        "opportunities_per_hour": per_hour,
    }
