"""Template filters of the dashboard: event timestamps and small display helpers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import date_format

from trading.formatting import format_amount

register = template.Library()


@register.filter
def when(value: str | dt.datetime | None) -> dt.datetime | None:
    """An ISO 8601 timestamp (as events carry them) as a datetime in the current time zone."""
    if not value:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return timezone.localtime(value)


@register.filter
def short_hex(value: str | None, keep: int = 6) -> str:
    """``0x1234…abcd`` for addresses and hashes."""
    text = str(value or "")
    if len(text) <= 2 * keep + 4:
        return text
    return f"{text[: keep + 2]}…{text[-4:]}"


@register.filter
def amount(value: int | None, token: Any) -> str:
    """Smallest units of ``token`` as token units (``10**16|amount:weth`` → ``0.01 WETH``)."""
    return format_amount(value, token.decimals, token.symbol)


@register.filter
def native(value: int | None, symbol: str = "ETH") -> str:
    """Wei of the native currency as native units."""
    return format_amount(value, 18, symbol, max_fraction_digits=9)


@register.filter
def gwei(value: int | None) -> str:
    """Wei per gas as gwei."""
    return format_amount(value, 9, "gwei", max_fraction_digits=4)


@register.filter
def clock(value: str | dt.datetime | None) -> str:
    """A feed timestamp: the time for today, the date and time for older rows."""
    moment = when(value)
    if moment is None:
        return "—"
    if moment.date() == timezone.localdate():
        return date_format(moment, "H:i:s")
    return date_format(moment, "M j, H:i")


@register.filter
def usd(value: int | None) -> str:
    """Millionths of a dollar as dollars and cents."""
    return format_amount(value, 6, "USD", max_fraction_digits=2)
