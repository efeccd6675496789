"""Performance page and its JSON: exact sums, equal to direct ORM aggregates."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db.models import Count, Q
from django.urls import reverse

from trading.fields import AmountSum
from trading.models import Trade
from trading.selectors import amount_to_units, performance

from ..trading import factories as f
from .helpers import cycle

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen_now(monkeypatch):
    monkeypatch.setattr("trading.selectors.now", lambda: NOW)
    return NOW


@pytest.fixture
def traded(market, frozen_now):
    """Trades over ten days in two tokens, with amounts too large for a float."""
    trades = []
    for day in range(10):
        moment = NOW - dt.timedelta(days=day, hours=1)
        opp = cycle(market, detected_at=moment)
        trades.append(
            f.trade(
                opp,
                created_at=moment,
                realized_profit=10**18 + day * 10**15 + 7,
                gas_cost_wei=10**14 + day,
                status="success" if day % 3 else "reverted",
            )
        )
        usdc_opp = cycle(market, start="usdc", detected_at=moment)
        trades.append(
            f.trade(
                usdc_opp,
                created_at=moment,
                realized_profit=2**70 + day,  # exact sums beyond 2**64
                gas_cost_wei=3,
                mode="dry_run",
                status="simulated",
            )
        )
    return trades


def _orm_totals(since, until, mode=""):
    qs = Trade.objects.filter(created_at__gte=since, created_at__lt=until)
    if mode:
        qs = qs.filter(mode=mode)
    per_token = {
        row["opportunity__start_token__symbol"]: row
        for row in qs.values("opportunity__start_token__symbol").annotate(
            profit=AmountSum("net_profit"), n=Count("id")
        )
    }
    totals = qs.aggregate(
        gas=AmountSum("gas_cost_wei"),
        ok=Count("id", filter=Q(status="success")),
        n=Count("id"),
    )
    return per_token, totals


@pytest.mark.parametrize("preset,days", [("24h", 1), ("7d", 7), ("30d", 30)])
def test_json_sums_equal_direct_orm_aggregates(operator_client, traded, preset, days):
    data = operator_client.get(reverse("dashboard:performance_data"), {"range": preset}).json()
    since = NOW - dt.timedelta(days=days)
    per_token, totals = _orm_totals(since, NOW)
    tokens = {t["symbol"]: t for t in data["tokens"]}
    assert set(tokens) == set(per_token)
    for symbol, token in tokens.items():
        expected = per_token[symbol]["profit"]
        assert sum(int(v) for v in token["profit_wei"]) == expected
        assert int(token["total_wei"]) == expected
        assert token["cumulative_wei"][-1] == str(expected)
        assert token["total"] == amount_to_units(expected, token["decimals"])
        assert token["trades"] == per_token[symbol]["n"]
        # Decimal strings are exact: scaled back they give the integers.
        for text, raw in zip(token["profit"], token["profit_wei"], strict=True):
            assert Decimal(text).scaleb(token["decimals"]) == int(raw)
    assert sum(int(v) for v in data["gas"]["values_wei"]) == totals["gas"]
    assert sum(data["trades"]) == totals["n"] and sum(data["successful"]) == totals["ok"]
    assert len(data["labels"]) == len(data["trades"]) == len(data["opportunities_per_hour"])


def test_the_json_never_carries_a_float(operator_client, traded):
    data = operator_client.get(reverse("dashboard:performance_data"), {"range": "30d"}).json()

    def walk(value):
        assert not isinstance(value, float), value
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)


def test_mode_filter(operator_client, traded):
    data = operator_client.get(
        reverse("dashboard:performance_data"), {"range": "30d", "mode": "live"}
    ).json()
    assert [t["symbol"] for t in data["tokens"]] == ["WETH"]
    per_token, _ = _orm_totals(NOW - dt.timedelta(days=30), NOW, mode="live")
    assert int(data["tokens"][0]["total_wei"]) == per_token["WETH"]["profit"]


def test_custom_date_range_in_the_operator_time_zone(operator_client, traded, settings):
    settings.LISTONIAN_TIME_ZONE = "America/New_York"
    data = operator_client.get(
        reverse("dashboard:performance_data"), {"since": "2026-06-10", "until": "2026-06-12"}
    ).json()
    assert data["range"]["bucket"] == "day" and data["labels"] == ["Jun 10", "Jun 11", "Jun 12"]
    assert data["range"]["since"] == "2026-06-10T00:00:00-04:00"
    per_token, _ = _orm_totals(
        dt.datetime.fromisoformat(data["range"]["since"]),
        dt.datetime.fromisoformat(data["range"]["until"]),
    )
    tokens = {t["symbol"]: int(t["total_wei"]) for t in data["tokens"]}
    assert tokens == {symbol: row["profit"] for symbol, row in per_token.items()}


def test_hourly_buckets_for_a_day_and_success_rate(operator_client, market, frozen_now):
    opp = cycle(market, detected_at=NOW - dt.timedelta(minutes=90))
    for status in ("success", "success", "reverted", "pending"):
        f.trade(opp, created_at=NOW - dt.timedelta(minutes=90), status=status)
    data = operator_client.get(reverse("dashboard:performance_data"), {"range": "24h"}).json()
    assert data["range"]["bucket"] == "hour" and len(data["labels"]) in (24, 25)
    rates = [r for r in data["success_rate"] if r is not None]
    assert rates == ["66.67"]  # 2 of 3 settled (pending is not settled)
    assert sum(int(n) for n in data["opportunities_per_hour"]) == 1


def test_bucket_boundaries_follow_daylight_saving(db):
    import zoneinfo

    zone = zoneinfo.ZoneInfo("Europe/Berlin")
    since = dt.datetime(2026, 3, 29, 0, 0, tzinfo=zone)  # clocks jump 02:00 -> 03:00
    until = since.astimezone(dt.UTC) + dt.timedelta(hours=23)  # 23 real hours
    perf = performance(since=since, until=until, bucket="hour", zone=zone)
    assert len(perf.buckets) == 23
    assert len({b.timestamp() for b in perf.buckets}) == 23
    assert [b.hour for b in perf.buckets[:3]] == [0, 1, 3]  # no 02:00 that day


def test_the_page_renders_with_local_chart_js(operator_client, traded):
    response = operator_client.get(reverse("dashboard:performance"), {"range": "7d"})
    body = response.content.decode()
    assert "/static/vendor/chart.js/chart.umd.min.js" in body
    assert 'data-url="/performance/data.json?range=7d"' in body
    assert "Last 7 days" in body and 'id="chart-cumulative"' in body
    assert "WETH" in body and "USDC" in body


def test_an_invalid_range_falls_back_to_the_default(operator_client, traded):
    response = operator_client.get(
        reverse("dashboard:performance"), {"since": "2026-06-12", "until": "2026-06-01"}
    )
    body = response.content.decode()
    assert "before the start date" in body and "Last 7 days" in body


def test_an_empty_range_says_what_to_do(operator_client, db):
    body = operator_client.get(reverse("dashboard:performance")).content.decode()
    assert "No trade in this range" in body and "runbot" in body


def test_the_summary_rounds_gas_like_every_other_figure(operator_client, traded):
    """The summary line once printed gas to the wei (18 decimals) while the rest rounds."""
    body = operator_client.get(reverse("dashboard:performance"), {"range": "7d"}).content.decode()
    summary = re.search(r'id="performance-summary">(.*?)</p>', body, re.S)
    assert summary is not None
    gas = re.search(r"gas spent ([0-9.,]+) ETH", summary.group(1))
    assert gas is not None, summary.group(1)
    assert len(gas.group(1).partition(".")[2]) <= 9
    assert gas.group(1).startswith("0.0007")
