"""CSV exports of the filtered histories: exact integers plus decimal columns."""

from __future__ import annotations

import contextlib
import csv
import itertools
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.db import connections, transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from dashboard import presenters
from dashboard.templatetags.listonian import when
from trading.analysis.valuation import NATIVE_DECIMALS, USD_DECIMALS
from trading.models import Opportunity, Trade
from trading.selectors import amount_to_units

_BATCH = 500
# The first rows go out on their own, so the download starts before a whole
# batch is read and formatted; the rest follow in full batches.
_FIRST_BATCH = 20

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
    "reason_code",
    "reason",
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
    # Realized profit less gas, at the prices stored with the trade.
    "net_profit_wei",
    "net_profit",
    "net_profit_native",
    "net_profit_usd",
    "reason_code",
    "reason",
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


def _batches[M: (Opportunity, Trade)](queryset: QuerySet[M]) -> Iterator[list[M]]:
    """The rows of ``queryset`` read through a cursor (server-side on PostgreSQL), a
    small batch first, then full ones.

    The presenters load what each batch shows (tokens, pools, DEXs) in a few
    queries; the queryset's own prefetching is dropped so it is not done twice
    and does not hold the first rows back until a whole chunk is prefetched.
    """
    # On PostgreSQL a cursor declared outside a transaction is WITH HOLD: the
    # server builds the whole result before the first row comes. Inside one the
    # rows stream as they are read.
    streaming = connections[queryset.db].vendor == "postgresql"
    with transaction.atomic(using=queryset.db) if streaming else contextlib.nullcontext():
        rows = queryset.prefetch_related(None).iterator(chunk_size=_BATCH)
        size = _FIRST_BATCH
        while batch := list(itertools.islice(rows, size)):
            yield batch
            size = _BATCH


def opportunity_rows(queryset: QuerySet[Opportunity]) -> Iterator[list[object]]:
    """CSV rows for the opportunities of ``queryset``, built in batches."""
    yield OPPORTUNITY_COLUMNS
    for batch in _batches(queryset):
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
                o.reason_code,
                _text(o.status_reason),
            ]


def trade_rows(queryset: QuerySet[Trade]) -> Iterator[list[object]]:
    """CSV rows for the trades of ``queryset``, built in batches."""
    yield TRADE_COLUMNS
    for batch in _batches(queryset):
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
                _units(t.gas_cost_wei, NATIVE_DECIMALS),
                t.tx_hash,
                "" if t.block_number is None else t.block_number,
                t.net_profit,
                _units(t.net_profit, t.decimals),
                _units(t.net_native_wei, NATIVE_DECIMALS),
                _units(t.net_usd_micros, USD_DECIMALS),
                t.reason_code,
                _text(t.error),
            ]


class _Line:
    """A file-like object whose ``write`` hands back the line: csv.writer without a buffer."""

    def write(self, text: str) -> str:
        return text


def _lines(rows: Iterator[list[object]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    for row in rows:
        yield writer.writerow(row)


async def _async_chunks(lines: Iterator[str]) -> AsyncIterator[str]:
    """The lines in chunks, each read on the ORM's thread: the event loop never waits on SQL."""
    take = sync_to_async(lambda size: "".join(itertools.islice(lines, size)))
    # The header and the first small batch make the first chunk.
    size = _FIRST_BATCH + 1
    while chunk := await take(size):
        yield chunk
        size = _BATCH


def csv_response(
    rows: Iterator[list[object]], name: str, *, asynchronous: bool = False
) -> StreamingHttpResponse:
    """A CSV download named ``<name>-<local time>.csv``, streamed as it is built.

    Rows are read and rendered in batches while the response is sent, so the
    first bytes leave at once and memory stays flat however many rows match.
    Under ASGI (``asynchronous``) the stream must be an async iterator, or
    Django would read it whole before sending the first byte.
    """
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    lines = _lines(rows)
    content: Iterator[str] | AsyncIterator[str] = _async_chunks(lines) if asynchronous else lines
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
