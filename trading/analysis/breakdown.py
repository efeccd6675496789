"""Trade results in one currency, grouped by route, DEX, pair or start token (pure).

Each trade is converted at the prices stored with it (see :mod:`valuation`),
exactly, as a ``Fraction`` of the currency's smallest unit; sums stay exact
and only the caller's final display rounds. A trade that cannot be converted
(no stored price, or a start token with no price in the chosen token) is
counted and reported as such, never dropped silently nor guessed.

Currencies and their smallest units:

- ``native``: wei of the network's native coin;
- ``usd``: millionths of a US dollar;
- ``token``: the chosen token's smallest unit. A trade starting in it needs no
  price; a trade starting in another token converts only when the chosen token
  is the network's wrapped native coin (one wrapped coin is one native coin).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from trading.analysis.valuation import NATIVE_UNIT

NATIVE = "native"
USD = "usd"
TOKEN = "token"
CURRENCY_KINDS = (NATIVE, USD, TOKEN)

ROUTE = "route"
DEX = "dex"
PAIR = "pair"
START_TOKEN = "token"
GROUPINGS = (ROUTE, DEX, PAIR, START_TOKEN)

# Sort keys of a breakdown table; "label" sorts by the group's name.
SORT_KEYS = ("label", "trades", "success_rate", "net", "gas", "average", "best")

ZERO = Fraction(0)

# Fractional parts are also summed as multiples of 2**-SCALE_BITS: enough to
# settle the integer part of almost any sum without adding fractions whose
# denominators (one per stored price) would multiply together.
SCALE_BITS = 64


class ExactSum:
    """A sum of fractions ``numerator / denominator`` whose rounded value is exact, and fast.

    Each term is split into an integer and a remainder in ``[0, 1)``; the
    integers add up exactly, the remainders also as 64-bit fixed point, which
    bounds their sum within ``count * 2**-64``. When that bound cannot decide
    the rounding (the sum is that close to an integer), the remainders are
    added as exact fractions: the answer is always the exact sum rounded.
    """

    __slots__ = ("parts", "scaled", "whole")

    def __init__(self) -> None:
        self.whole = 0
        self.scaled = 0
        self.parts: list[tuple[int, int]] = []

    def add(self, numerator: int, denominator: int = 1) -> None:
        """Add ``numerator / denominator`` (``denominator`` > 0)."""
        whole, remainder = divmod(numerator, denominator)
        self.whole += whole
        if remainder:
            self.scaled += (remainder << SCALE_BITS) // denominator
            self.parts.append((remainder, denominator))

    @property
    def value(self) -> Fraction:
        """The exact sum (slow for many terms with different denominators)."""
        return self.whole + sum((Fraction(r, d) for r, d in self.parts), ZERO)

    def approximate(self) -> Fraction:
        """A lower bound within ``count * 2**-64`` of the sum: good enough to order sums."""
        return Fraction((self.whole << SCALE_BITS) + self.scaled, 1 << SCALE_BITS)

    def truncated(self, divisor: int = 1) -> int:
        """The sum divided by ``divisor`` (> 0), rounded toward zero, exactly."""
        if not self.parts:
            quotient, rest = divmod(self.whole, divisor)
            return quotient + 1 if quotient < 0 and rest else quotient
        unit = divisor << SCALE_BITS
        low = (self.whole << SCALE_BITS) + self.scaled  # sum * 2**64 lies in [low, low + n)
        floor, floor_high = low // unit, (low + len(self.parts)) // unit
        if floor == floor_high and low % unit:
            # Strictly inside (floor, floor + 1): not an integer.
            return floor + 1 if floor < 0 else floor
        return int(self.value / divisor)


@dataclass(frozen=True)
class Currency:
    """What figures are shown in. ``token_id`` only for a ``token`` currency."""

    kind: str
    token_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in CURRENCY_KINDS:
            raise ValueError(f"Unknown currency {self.kind!r}: choose one of {CURRENCY_KINDS}")
        if (self.kind == TOKEN) != (self.token_id is not None):
            raise ValueError("A token currency needs a token, and only a token currency has one")


@dataclass(frozen=True)
class Hop:
    """One swap of a trade's cycle: token addresses (lower case), their symbols, the DEX."""

    token_in: str
    token_out: str
    dex: str
    symbol_in: str
    symbol_out: str


@dataclass(frozen=True)
class TradeFacts:
    """What the breakdown needs of one trade, as stored when it was recorded.

    ``net_profit`` is after gas in start-token smallest units (None while the
    trade is open, or when its gas had no price); ``gas_cost_wei`` in wei.
    """

    start_token_id: int
    start_symbol: str
    status: str
    net_profit: int | None
    gas_cost_wei: int | None
    native_price: int | None
    native_usd_price: int | None
    wrapped_native_id: int | None = None
    hops: tuple[Hop, ...] = ()
    start_decimals: int = 18
    bucket: int | None = None

    @property
    def is_open(self) -> bool:
        """Not settled yet: nothing to convert, nothing missing."""
        return self.status == "pending" and self.net_profit is None

    @property
    def successful(self) -> bool:
        return self.status == "success"

    @property
    def settled(self) -> bool:
        return self.status not in ("pending", "simulated")


@dataclass(frozen=True)
class Converted:
    """One trade's net profit after gas and its gas in the currency's smallest unit,
    each as an exact ratio of integers (denominators > 0)."""

    net_numerator: int
    net_denominator: int
    gas_numerator: int
    gas_denominator: int

    @property
    def net(self) -> Fraction:
        return Fraction(self.net_numerator, self.net_denominator)

    @property
    def gas(self) -> Fraction:
        return Fraction(self.gas_numerator, self.gas_denominator)


def _native_price(trade: TradeFacts) -> int | None:
    if trade.native_price:
        return trade.native_price
    if trade.wrapped_native_id is not None and trade.start_token_id == trade.wrapped_native_id:
        return NATIVE_UNIT
    return None


def convert(trade: TradeFacts, currency: Currency) -> Converted | None:
    """``trade``'s net and gas in ``currency``, exactly; None when it has no price in it."""
    net = trade.net_profit
    if net is None:
        return None
    gas_wei = trade.gas_cost_wei or 0
    if net == 0 and gas_wei == 0:
        return Converted(0, 1, 0, 1)  # nothing earned, nothing spent: zero in any currency
    price = _native_price(trade)
    if currency.kind == TOKEN and trade.start_token_id == currency.token_id:
        if not gas_wei:
            return Converted(net, 1, 0, 1)
        if price is None:
            return None
        return Converted(net, 1, gas_wei * price, NATIVE_UNIT)
    if price is None:
        return None
    # Net in wei: net * 10**18 / price.
    if currency.kind == NATIVE:
        return Converted(net * NATIVE_UNIT, price, gas_wei, 1)
    if currency.kind == USD:
        usd = trade.native_usd_price
        if not usd:
            return None
        return Converted(net * usd, price, gas_wei * usd, NATIVE_UNIT)
    # Another start token in a token currency: only the wrapped native coin is known.
    if trade.wrapped_native_id is not None and currency.token_id == trade.wrapped_native_id:
        return Converted(net * NATIVE_UNIT, price, gas_wei, 1)
    return None


class _Tally:
    __slots__ = (
        "best",
        "converted",
        "gas",
        "net",
        "settled",
        "successful",
        "trades",
        "unconverted",
    )

    def __init__(self) -> None:
        self.trades = 0
        self.successful = 0
        self.settled = 0
        self.converted = 0
        self.unconverted = 0
        self.net = ExactSum()
        self.gas = ExactSum()
        self.best: tuple[int, int] | None = None

    def add(self, trade: TradeFacts, value: Converted | None) -> None:
        self.trades += 1
        self.successful += trade.successful
        self.settled += trade.settled
        if trade.is_open:
            return
        if value is None:
            self.unconverted += 1
            return
        self.converted += 1
        self.net.add(value.net_numerator, value.net_denominator)
        self.gas.add(value.gas_numerator, value.gas_denominator)
        best = self.best
        # a/b > c/d with positive denominators, without building fractions.
        if best is None or value.net_numerator * best[1] > best[0] * value.net_denominator:
            self.best = (value.net_numerator, value.net_denominator)


@dataclass(frozen=True)
class GroupTotals:
    """One row of a breakdown: counts, and exact sums in the currency's smallest unit.

    ``net_sum``, ``gas_sum`` and ``best`` cover the ``converted`` trades only;
    ``unconverted`` trades had no price in the currency.
    """

    key: tuple[str, ...]
    label: str
    trades: int
    successful: int
    settled: int
    converted: int
    unconverted: int
    net_sum: ExactSum
    gas_sum: ExactSum
    best: Fraction | None

    @property
    def net(self) -> Fraction:
        """The exact net sum (for checks; figures use :meth:`truncated`)."""
        return self.net_sum.value

    @property
    def gas(self) -> Fraction:
        return self.gas_sum.value

    @property
    def success_rate(self) -> Fraction | None:
        """Successful over settled trades (None before any settled)."""
        return Fraction(self.successful, self.settled) if self.settled else None

    @property
    def average(self) -> Fraction | None:
        """Net profit per converted trade, exact."""
        return self.net / self.converted if self.converted else None

    def truncated(self) -> tuple[int | None, int | None, int | None, int | None]:
        """Net, gas, average and best in whole smallest units, rounded toward zero
        (None where no trade converted)."""
        if not self.converted:
            return None, None, None, None
        best = int(self.best) if self.best is not None else None
        return (
            self.net_sum.truncated(),
            self.gas_sum.truncated(),
            self.net_sum.truncated(self.converted),
            best,
        )


def route_groups(trade: TradeFacts) -> list[tuple[tuple[str, ...], str]]:
    """The cycle, ordered: tokens and DEXs ("WETH →(Uniswap V2) USDC →(Aerodrome) WETH")."""
    if not trade.hops:
        return [((f"token:{trade.start_token_id}",), f"{trade.start_symbol} (no path)")]
    key: list[str] = []
    label = trade.hops[0].symbol_in
    for hop in trade.hops:
        key += [hop.token_in, hop.dex]
        label += f" →({hop.dex}) {hop.symbol_out}"
    key.append(trade.hops[-1].token_out)
    return [(tuple(key), label)]


def dex_groups(trade: TradeFacts) -> list[tuple[tuple[str, ...], str]]:
    """Each DEX the trade touched, once however many of its pools the cycle used."""
    names = dict.fromkeys(hop.dex for hop in trade.hops)
    return [((name,), name) for name in names]


def pair_groups(trade: TradeFacts) -> list[tuple[tuple[str, ...], str]]:
    """Each unordered token pair the trade swapped, once."""
    pairs: dict[tuple[str, ...], str] = {}
    for hop in trade.hops:
        ends = sorted([(hop.symbol_in, hop.token_in), (hop.symbol_out, hop.token_out)])
        key = tuple(sorted((hop.token_in, hop.token_out)))
        pairs.setdefault(key, f"{ends[0][0]} / {ends[1][0]}")
    return list(pairs.items())


def token_groups(trade: TradeFacts) -> list[tuple[tuple[str, ...], str]]:
    """The start token."""
    return [((str(trade.start_token_id),), trade.start_symbol)]


GROUP_FUNCTIONS: dict[str, Callable[[TradeFacts], list[tuple[tuple[str, ...], str]]]] = {
    ROUTE: route_groups,
    DEX: dex_groups,
    PAIR: pair_groups,
    START_TOKEN: token_groups,
}


def _freeze(key: tuple[str, ...], label: str, tally: _Tally) -> GroupTotals:
    return GroupTotals(
        key=key,
        label=label,
        trades=tally.trades,
        successful=tally.successful,
        settled=tally.settled,
        converted=tally.converted,
        unconverted=tally.unconverted,
        net_sum=tally.net,
        gas_sum=tally.gas,
        best=None if tally.best is None else Fraction(*tally.best),
    )


def breakdown(trades: Iterable[TradeFacts], currency: Currency, grouping: str) -> list[GroupTotals]:
    """Totals per group (a trade counts once in each group it belongs to), by label."""
    if grouping not in GROUP_FUNCTIONS:
        raise ValueError(f"Unknown grouping {grouping!r}: choose one of {GROUPINGS}")
    groups_of = GROUP_FUNCTIONS[grouping]
    tallies: dict[tuple[str, ...], _Tally] = {}
    labels: dict[tuple[str, ...], str] = {}
    # Trades of one cycle share their hops (one tuple per path read): their
    # groups are worked out once. The cache holds each tuple, so its id is
    # never reused for another while the loop runs.
    known: dict[tuple[int, int], tuple[tuple[Hop, ...], list[tuple[tuple[str, ...], str]]]] = {}
    for trade in trades:
        value = convert(trade, currency)
        cache_key = (id(trade.hops), trade.start_token_id)
        cached = known.get(cache_key)
        if cached is None:
            cached = known[cache_key] = (trade.hops, groups_of(trade))
        for key, label in cached[1]:
            tally = tallies.get(key)
            if tally is None:
                tally = tallies[key] = _Tally()
                labels[key] = label
            tally.add(trade, value)
    rows = [_freeze(key, labels[key], tally) for key, tally in tallies.items()]
    return sort_groups(rows, "label", descending=False)


def _sort_value(row: GroupTotals, key: str) -> Fraction | None:
    value: Fraction | int | None
    if key == "success_rate":
        value = row.success_rate
    elif key == "average":
        value = row.net_sum.approximate() / row.converted if row.converted else None
    elif key == "best":
        value = row.best
    elif key == "trades":
        value = row.trades
    elif key == "net":
        value = row.net_sum.approximate() if row.converted else None
    else:
        value = row.gas_sum.approximate() if row.converted else None
    return None if value is None else Fraction(value)


def sort_groups(rows: Sequence[GroupTotals], key: str, *, descending: bool) -> list[GroupTotals]:
    """``rows`` ordered by one column; rows with no value for it come last either way.

    Ties keep the label order, whatever the direction.
    """
    if key not in SORT_KEYS:
        raise ValueError(f"Unknown sort key {key!r}: choose one of {SORT_KEYS}")
    by_label = sorted(rows, key=lambda row: (row.label.lower(), row.key))
    if key == "label":
        return by_label[::-1] if descending else by_label
    known = [(value, row) for row in by_label if (value := _sort_value(row, key)) is not None]
    unknown = [row for row in by_label if _sort_value(row, key) is None]
    known.sort(key=lambda pair: -pair[0] if descending else pair[0])
    return [row for _, row in known] + unknown


@dataclass(frozen=True)
class Series:
    """Net profit and gas per time bucket in one currency, and the overall totals."""

    net_sums: tuple[ExactSum, ...]
    gas_sums: tuple[ExactSum, ...]
    totals: GroupTotals
    per_token: dict[int, int] = field(default_factory=dict)

    @property
    def net(self) -> tuple[Fraction, ...]:
        return tuple(s.value for s in self.net_sums)

    @property
    def gas(self) -> tuple[Fraction, ...]:
        return tuple(s.value for s in self.gas_sums)

    @property
    def cumulative(self) -> tuple[Fraction, ...]:
        running, out = ZERO, []
        for value in self.net:
            running += value
            out.append(running)
        return tuple(out)

    def truncated(self) -> tuple[list[int], list[int], list[int]]:
        """Net, running net and gas per bucket, in whole smallest units rounded toward
        zero; the running total is rounded from the exact running sum."""
        running = ExactSum()
        net, cumulative, gas = [], [], []
        for net_sum, gas_sum in zip(self.net_sums, self.gas_sums, strict=True):
            running.whole += net_sum.whole
            running.scaled += net_sum.scaled
            running.parts += net_sum.parts
            net.append(net_sum.truncated())
            cumulative.append(running.truncated())
            gas.append(gas_sum.truncated())
        return net, cumulative, gas


def series(trades: Iterable[TradeFacts], currency: Currency, size: int) -> Series:
    """Per-bucket sums (``trade.bucket`` indexes ``range(size)``) and the range's totals.

    ``per_token`` counts trades per start token id (the token currency's default
    is the one traded most).
    """
    net = [ExactSum() for _ in range(size)]
    gas = [ExactSum() for _ in range(size)]
    total = _Tally()
    per_token: dict[int, int] = {}
    for trade in trades:
        value = convert(trade, currency)
        total.add(trade, value)
        per_token[trade.start_token_id] = per_token.get(trade.start_token_id, 0) + 1
        if value is not None and trade.bucket is not None and 0 <= trade.bucket < size:
            net[trade.bucket].add(value.net_numerator, value.net_denominator)
            gas[trade.bucket].add(value.gas_numerator, value.gas_denominator)
    return Series(tuple(net), tuple(gas), _freeze(("all",), "All", total), per_token)
