"""What the engine writes for the dashboard: its state, component health, the market panel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from itertools import combinations
from typing import Any

from django.db import transaction
from django.utils import timezone

from trading import events
from trading.formatting import printable
from trading.models import ComponentHealth, EngineState


def engine_started() -> None:
    now = timezone.now()
    EngineState.objects.update_or_create(
        pk=1, defaults={"running": True, "started_at": now, "heartbeat_at": now}
    )


def engine_stopped() -> None:
    EngineState.objects.update_or_create(pk=1, defaults={"running": False})
    events.status_changed_after_commit()


def engine_state_save(
    *, state: Mapping[str, Any], health: Sequence[Any], process: Mapping[str, Any] | None = None
) -> None:
    """Write the engine's latest state and every component's health, then tell dashboards.

    ``process`` is the engine process's own figures (trading.vitals), stored
    with the other processes'.
    """
    fields = {k: v for k, v in state.items() if k in _STATE_FIELDS}
    fields["heartbeat_at"] = timezone.now()
    with transaction.atomic():
        EngineState.objects.update_or_create(pk=1, defaults=fields)
        if process is not None:
            from trading.services.system import process_vitals_save

            process_vitals_save(
                role="engine", instance=str(process.get("instance", "")), figures=process
            )
        elif "system" in fields:
            events.system_changed_after_commit()
        if health:  # the full list: a renamed or removed component leaves no stale row
            ComponentHealth.objects.exclude(name__in=[r.name for r in health]).delete()
            # Every component's row in one statement (an upsert), not two queries each.
            ComponentHealth.objects.bulk_create(
                [
                    ComponentHealth(
                        name=report.name,
                        initialized=report.initialized,
                        healthy=report.healthy,
                        last_success_at=report.last_success_at,
                        last_error=printable(report.last_error, 2000),
                        last_error_at=report.last_error_at,
                        restarts=report.restarts,
                        counters=report.counters,
                    )
                    for report in health
                ],
                update_conflicts=True,
                unique_fields=["name"],
                update_fields=_HEALTH_FIELDS,
            )
        events.status_changed_after_commit()


_HEALTH_FIELDS = [
    "initialized",
    "healthy",
    "last_success_at",
    "last_error",
    "last_error_at",
    "restarts",
    "counters",
    "updated_at",
]


_STATE_FIELDS = {
    "running",
    "last_block",
    "blocks_processed",
    "blocks_skipped",
    "market",
    "balances",
    "system",
}


def low_balance_alert(*, address: str, balance: int, minimum: int) -> None:
    from trading.services.alerts import alert_raise

    alert_raise(
        event="low_balance",
        payload={"account": address, "balance_wei": str(balance), "minimum_wei": str(minimum)},
    )


def _price(state: Any, base: str) -> Fraction | None:
    """Units of the other token per unit of ``base`` in ``state`` (raw units, spot)."""
    from trading.analysis import spot_price

    try:
        return spot_price(state, base)
    except (ValueError, ZeroDivisionError, ArithmeticError):
        return None


def fee_label(fee_pips: int) -> str:
    """A pool's fee tier as people name it: 3000 pips → "0.3%", 500 → "0.05%"."""
    return f"{Decimal(fee_pips).scaleb(-4).normalize():f}%"


def _watched_pairs(
    states: Mapping[str, Any], base_tokens: Sequence[str], tokens: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """Pairs of base tokens first, then every other pair a watched pool trades."""
    pairs = [(a, b) for a, b in combinations(base_tokens, 2) if a in tokens and b in tokens]
    seen = {frozenset(pair) for pair in pairs}
    others = []
    for state in states.values():
        key = frozenset((state.token0, state.token1))
        if key in seen or state.token0 not in tokens or state.token1 not in tokens:
            continue
        seen.add(key)
        # Quote in a base token where the pool has one (AERO/WETH, not WETH/AERO).
        first, second = state.token0, state.token1
        if first in base_tokens and second not in base_tokens:
            first, second = second, first
        others.append((first, second))
    others.sort(key=lambda pair: (tokens[pair[0]].symbol, tokens[pair[1]].symbol))
    return pairs + others


# Pairs in the market panel (the overview shows as many).
MARKET_PAIRS = 50


def market_panel(
    states: Mapping[str, Any],
    pools: Mapping[str, Any],
    base_tokens: Sequence[str],
    tokens: Mapping[str, Any],
    *,
    limit: int = MARKET_PAIRS,
) -> list[dict[str, Any]]:
    """For each watched pair: the price on each pool (with its DEX and fee tier) and the
    best spread now.

    The pairs watched pools trade are listed (the cycles use them all), pairs of
    base tokens first, then the others by symbol. Prices are decimal strings in
    human units (quote per base token); the spread is in basis points between the
    cheapest and the dearest pool.
    At most ``limit`` pairs are priced, the first in that order: the pages show
    as many, and a network of thousands of pools trades thousands of pairs.
    """
    # Pools by pair, once: every pair a pool trades is listed, so looking through
    # every pool for each pair would grow with the square of the pools.
    by_pair: dict[frozenset[str], list[tuple[str, Any]]] = {}
    for address, state in states.items():
        by_pair.setdefault(frozenset((state.token0, state.token1)), []).append((address, state))
    panel: list[dict[str, Any]] = []
    for base, quote in _watched_pairs(states, base_tokens, tokens):
        if len(panel) >= limit:
            break
        scale = Fraction(10 ** tokens[base].decimals, 10 ** tokens[quote].decimals)
        quotes: list[tuple[Fraction, str, str, str]] = []  # (price, dex, pool, fee)
        for address, state in by_pair.get(frozenset((base, quote)), ()):
            raw = _price(state, base)
            if raw is None or raw <= 0:
                continue
            spec = pools.get(address)
            fee = getattr(spec, "fee", None)
            quotes.append(
                (
                    raw * scale,
                    getattr(spec, "dex", "") or "",
                    address,
                    fee_label(fee) if isinstance(fee, int) else "",
                )
            )
        if not quotes:
            continue
        label = f"{tokens[base].symbol}/{tokens[quote].symbol}"
        if sorted(q[0] for q in quotes)[len(quotes) // 2] < 1:
            # Quote the dearer token in the cheaper one (WETH/USDC 3000, not 0.00033).
            label = f"{tokens[quote].symbol}/{tokens[base].symbol}"
            quotes = [(1 / value, dex, pool, fee) for value, dex, pool, fee in quotes]
        low, high = min(q[0] for q in quotes), max(q[0] for q in quotes)
        spread = int((high - low) * 10_000 / low) if low else 0
        prices = [
            {
                "dex": dex,
                "pool": pool,
                "fee": fee,
                "price": format(Decimal(value.numerator) / Decimal(value.denominator), ".8g"),
            }
            for value, dex, pool, fee in quotes
        ]
        panel.append(
            {
                "pair": label,
                "prices": sorted(prices, key=lambda p: (p["dex"], p["fee"])),
                "best_spread_bps": spread,
            }
        )
    return panel


def component_down_alert(*, name: str, error: str, down_seconds: int | None = None) -> None:
    from trading.services.alerts import alert_raise

    payload: dict[str, Any] = {"component": name, "error": printable(error, 1000)}
    if down_seconds is not None:
        payload["down_seconds"] = down_seconds
    alert_raise(event="component_down", payload=payload)


def component_recovered_alert(*, name: str, down_seconds: int) -> None:
    """A component that was alerted as down is working again."""
    from trading.services.alerts import alert_raise

    alert_raise(
        event="component_recovered", payload={"component": name, "down_seconds": down_seconds}
    )
