"""CSV exports of the filtered histories: exact integers plus decimal columns."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone

from dashboard import presenters
from dashboard.templatetags.listonian import when
from trading.models import Opportunity, Trade
from trading.selectors import amount_to_units

_BATCH = 500

OPPORTUNITY_COLUMNS = [
    "id",
    "detected_at",
    "status",
    "start_token",
    "decimals",
    "route",
    "dexes",
    "block_number",
    "amount_in_wei",
    "amount_in",
    "expected_profit_wei",
    "expected_profit",
    "gas_cost_wei",
    "gas_cost",
    "net_profit_wei",
    "net_profit",
]

TRADE_COLUMNS = [
    "id",
    "created_at",
    "mode",
    "status",
    "opportunity_id",
    "start_token",
    "decimals",
    "route",
    "dexes",
    "realized_profit_wei",
    "realized_profit",
    "gas_used",
    "gas_cost_wei",
    "gas_cost_native",
    "tx_hash",
    "block_number",
]


def _text(value: str) -> str:
    # Token symbols come from the chain: never let one be read as a spreadsheet formula.
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def _units(raw: str, decimals: int) -> str:
    return amount_to_units(int(raw), decimals) if raw else ""


def _time(iso: str) -> str:
    moment = when(iso)
    return moment.isoformat() if moment else ""


def opportunity_rows(queryset: QuerySet[Opportunity]) -> Iterator[list[object]]:
    """CSV rows for the opportunities of ``queryset``, built in batches."""
    yield OPPORTUNITY_COLUMNS
    for batch in itertools.batched(queryset.iterator(chunk_size=_BATCH), _BATCH):
        for o in presenters.opportunity_events(batch):
            yield [
                o.id,
                _time(o.detected_at),
                o.status,
                _text(o.symbol),
                o.decimals,
                _text(o.route),
                _text(o.dexes),
                o.block_number,
                o.amount_in,
                _units(o.amount_in, o.decimals),
                o.expected_profit,
                _units(o.expected_profit, o.decimals),
                o.gas_cost,
                _units(o.gas_cost, o.decimals),
                o.net_profit,
                _units(o.net_profit, o.decimals),
            ]


def trade_rows(queryset: QuerySet[Trade]) -> Iterator[list[object]]:
    """CSV rows for the trades of ``queryset``, built in batches."""
    yield TRADE_COLUMNS
    for batch in itertools.batched(queryset.iterator(chunk_size=_BATCH), _BATCH):
        for t in presenters.trade_events(batch):
            yield [
                t.id,
                _time(t.created_at),
                t.mode,
                t.status,
                t.opportunity_id,
                _text(t.symbol),
                t.decimals,
                _text(t.route),
                _text(t.dexes),
                t.realized_profit,
                _units(t.realized_profit, t.decimals),
                "" if t.gas_used is None else t.gas_used,
                t.gas_cost_wei,
                _units(t.gas_cost_wei, presenters.NATIVE_DECIMALS),
                t.tx_hash,
                "" if t.block_number is None else t.block_number,
            ]


def csv_response(rows: Iterator[list[object]], name: str) -> HttpResponse:
    """A CSV download named ``<name>-<local time>.csv``."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    writer = csv.writer(response)
    for row in rows:
        writer.writerow(row)
    return response
