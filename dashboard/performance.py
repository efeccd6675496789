"""View models of the performance page in one currency, shared by the page, its JSON and CSV.

Sums arrive exact (``Fraction`` of the currency's smallest unit, see
:mod:`trading.analysis.breakdown`); here they are rounded toward zero to that
unit once, then written as exact decimal strings (CSV, chart data) or
shortened for reading (the page).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import QueryDict

from dashboard.forms import GROUPING_CHOICES, PerformanceView
from dashboard.presenters import NATIVE_DECIMALS, USD_DECIMALS, _native_symbols
from trading.analysis import breakdown
from trading.analysis.breakdown import Currency, GroupTotals, Series, TradeFacts
from trading.formatting import format_amount
from trading.models import Network, Token
from trading.selectors import Performance, amount_to_units


@dataclass(frozen=True)
class CurrencyInfo:
    """The chosen currency: what its smallest unit is and how it reads."""

    kind: str
    token_id: int | None
    symbol: str
    decimals: int
    # Digits shown on the page (CSV and chart data carry every digit).
    shown_digits: int

    @property
    def label(self) -> str:
        return self.symbol


@dataclass(frozen=True)
class TokenChoice:
    token_id: int
    symbol: str
    trades: int
    selected: bool


@dataclass(frozen=True)
class FigureRow:
    """One breakdown row (or the range's total) for the page and the CSV."""

    label: str
    trades: int
    successful: int
    settled: int
    success_rate: str
    net: str
    net_units: str
    sign: str
    gas: str
    gas_units: str
    average: str
    average_units: str
    best: str
    best_units: str
    converted: int
    unconverted: int


@dataclass(frozen=True)
class Column:
    """A sortable header: its link and its ``aria-sort`` state."""

    key: str
    label: str
    numeric: bool
    href: str
    aria_sort: str


@dataclass(frozen=True)
class Figures:
    """Everything the performance page shows in the chosen currency."""

    currency: CurrencyInfo
    view: PerformanceView
    tokens: tuple[TokenChoice, ...]
    total: FigureRow
    rows: tuple[FigureRow, ...]
    columns: tuple[Column, ...]
    groupings: tuple[tuple[str, str, str, bool], ...]
    series: Series

    @property
    def group_label(self) -> str:
        return dict(GROUPING_CHOICES)[self.view.group]

    @property
    def group_noun(self) -> str:
        """The grouping in a sentence ("each DEX", "each route")."""
        return GROUP_NOUNS[self.view.group]


GROUP_NOUNS = {
    breakdown.ROUTE: "route",
    breakdown.DEX: "DEX",
    breakdown.PAIR: "pair",
    breakdown.START_TOKEN: "start token",
}

COLUMNS = (
    ("label", "", False),
    ("trades", "Trades", True),
    ("success_rate", "Success rate", True),
    ("net", "Net after gas", True),
    ("gas", "Gas spent", True),
    ("average", "Average net", True),
    ("best", "Best trade", True),
)


def native_symbol() -> str:
    """The active network's native coin (ETH without one)."""
    network = Network.objects.active()
    if network is None:
        return "ETH"
    return _native_symbols([network]).get(network.pk, "ETH")


def choose_currency(
    view: PerformanceView, perf: Performance
) -> tuple[CurrencyInfo, tuple[TokenChoice, ...]]:
    """The currency to show, and the start tokens of the range for the token currency.

    The token currency defaults to the token with the most trades in the range
    (ties: by symbol).
    """
    ranked = sorted(perf.tokens, key=lambda t: (-t.trades, t.symbol.lower(), t.token_id))
    chosen_id = view.token_id
    if chosen_id is None and ranked:
        chosen_id = ranked[0].token_id
    tokens = tuple(
        TokenChoice(t.token_id, t.symbol, t.trades, t.token_id == chosen_id) for t in ranked
    )
    if view.currency == breakdown.USD:
        return CurrencyInfo(breakdown.USD, None, "USD", USD_DECIMALS, 2), tokens
    if view.currency == breakdown.TOKEN and chosen_id is not None:
        series = next((t for t in perf.tokens if t.token_id == chosen_id), None)
        if series is None:
            # Chosen explicitly but not traded in this range.
            token = Token.objects.filter(pk=chosen_id).only("symbol", "decimals").first()
            symbol, decimals = (token.symbol, token.decimals) if token else ("?", 18)
            tokens = (*tokens, TokenChoice(chosen_id, symbol, 0, True))
        else:
            symbol, decimals = series.symbol, series.decimals
        return CurrencyInfo(breakdown.TOKEN, chosen_id, symbol, decimals, min(decimals, 6)), tokens
    return CurrencyInfo(breakdown.NATIVE, None, native_symbol(), NATIVE_DECIMALS, 8), tokens


def _amount(amount: int | None, currency: CurrencyInfo) -> tuple[str, str]:
    """(shown, exact units) of an amount in the currency's smallest unit."""
    if amount is None:
        return "", ""
    shown = format_amount(amount, currency.decimals, currency.symbol, currency.shown_digits)
    return shown, amount_to_units(amount, currency.decimals)


def _rate(row: GroupTotals) -> str:
    rate = row.success_rate
    if rate is None:
        return ""
    return f"{Decimal(rate.numerator) * 100 / Decimal(rate.denominator):.1f}%"


def figure_row(row: GroupTotals, currency: CurrencyInfo) -> FigureRow:
    """One group's figures in ``currency``."""
    # Exact sums, rounded toward zero to the smallest unit only here.
    net_amount, gas_amount, average_amount, best_amount = row.truncated()
    net, net_units = _amount(net_amount, currency)
    gas, gas_units = _amount(gas_amount, currency)
    average, average_units = _amount(average_amount, currency)
    best, best_units = _amount(best_amount, currency)
    sign = ""
    if net_amount is not None and net_amount > 0:
        sign = "pos"
    elif net_amount is not None and net_amount < 0:
        sign = "neg"
    return FigureRow(
        label=row.label,
        trades=row.trades,
        successful=row.successful,
        settled=row.settled,
        success_rate=_rate(row),
        net=net,
        net_units=net_units,
        sign=sign,
        gas=gas,
        gas_units=gas_units,
        average=average,
        average_units=average_units,
        best=best,
        best_units=best_units,
        converted=row.converted,
        unconverted=row.unconverted,
    )


def _link(query: QueryDict, **changes: str) -> str:
    params = query.copy()
    for name, value in changes.items():
        params[name] = value
    return "?" + params.urlencode()


def _columns(view: PerformanceView, query: QueryDict, group_label: str) -> tuple[Column, ...]:
    columns = []
    for key, label, numeric in COLUMNS:
        if key == view.sort:
            aria = "descending" if view.descending else "ascending"
            next_dir = "asc" if view.descending else "desc"
        else:
            aria = "none"
            next_dir = "asc" if key == "label" else "desc"
        columns.append(
            Column(
                key=key,
                label=label or group_label,
                numeric=numeric,
                href=_link(query, sort=key, dir=next_dir),
                aria_sort=aria,
            )
        )
    return tuple(columns)


def figures(
    perf: Performance,
    facts: list[TradeFacts],
    view: PerformanceView,
    query: QueryDict | None = None,
    *,
    with_breakdown: bool = True,
) -> Figures:
    """The range's figures in the chosen currency and its breakdown, sorted as asked."""
    query = query if query is not None else QueryDict(mutable=True)
    info, tokens = choose_currency(view, perf)
    currency = Currency(info.kind, info.token_id)
    series = breakdown.series(facts, currency, len(perf.buckets))
    rows: tuple[FigureRow, ...] = ()
    if with_breakdown:
        groups = breakdown.breakdown(facts, currency, view.group)
        ordered = breakdown.sort_groups(groups, view.sort, descending=view.descending)
        rows = tuple(figure_row(row, info) for row in ordered)
    group_label = dict(GROUPING_CHOICES)[view.group]
    groupings = tuple(
        (key, label, _link(query, group=key), key == view.group) for key, label in GROUPING_CHOICES
    )
    return Figures(
        currency=info,
        view=view,
        tokens=tokens,
        total=figure_row(series.totals, info),
        rows=rows,
        columns=_columns(view, query, group_label),
        groupings=groupings,
        series=series,
    )


def currency_json(result: Figures) -> dict[str, Any]:
    """The chart series in the chosen currency: exact decimal strings, never floats."""
    info = result.currency
    net, cumulative, gas = result.series.truncated()

    def units(values: list[int]) -> list[str]:
        return [amount_to_units(v, info.decimals) for v in values]

    series = result.series
    return {
        "kind": info.kind,
        "token_id": info.token_id,
        "symbol": info.symbol,
        "decimals": info.decimals,
        "net": units(net),
        "net_smallest": [str(v) for v in net],
        "cumulative": units(cumulative),
        "cumulative_smallest": [str(v) for v in cumulative],
        "gas": units(gas),
        "gas_smallest": [str(v) for v in gas],
        "total": result.total.net_units or "0",
        "unconverted": series.totals.unconverted,
        "tokens": [
            {"id": t.token_id, "symbol": t.symbol, "trades": t.trades, "selected": t.selected}
            for t in result.tokens
        ],
    }


CSV_COLUMNS = [
    "group",
    "name",
    "currency",
    "decimals",
    "trades",
    "successful",
    "settled",
    "success_rate_percent",
    "net_after_gas",
    "gas_spent",
    "average_net_per_trade",
    "best_trade",
    "converted_trades",
    "trades_without_price",
]


def csv_rows(result: Figures) -> Iterator[list[object]]:
    """The breakdown table as CSV rows, header first: exact decimal strings in the currency."""
    yield list[object](CSV_COLUMNS)
    info = result.currency
    for row in result.rows:
        yield [
            result.view.group,
            _text(row.label),
            _text(info.symbol),
            info.decimals,
            row.trades,
            row.successful,
            row.settled,
            _percent(row),
            row.net_units,
            row.gas_units,
            row.average_units,
            row.best_units,
            row.converted,
            row.unconverted,
        ]


def _percent(row: FigureRow) -> str:
    # Exact to two places for machines; the page shows one.
    if not row.settled:
        return ""
    return f"{Decimal(row.successful) * 100 / Decimal(row.settled):.2f}"


def _text(value: str) -> str:
    # Symbols come from the chain: never let one be read as a spreadsheet formula.
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value
