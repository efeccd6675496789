"""Exact token amounts in the database.

Token amounts are integers in the token's smallest unit, up to 2**256-1, and
signed where a loss is possible (net profit, realized profit). PostgreSQL keeps
them in ``numeric(78, 0)``, which is exact and sums exactly. SQLite has no exact
type wider than 64 bits (it turns bigger numbers into floats), so there the
value is stored as fixed-width text that sorts like the number, and
``AmountSum`` uses an exact aggregate registered on every SQLite connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core import checks, exceptions
from django.db import models
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from trading.units import UINT256_MAX

# numeric(78, 0) holds every uint256 and its negation.
_DIGITS = 78
_OFFSET = 10**_DIGITS


def encode_sortable(value: int) -> str:
    """Encode an int as text whose string order is numeric order.

    Non-negative numbers are ``p`` + 78 zero-padded digits; negative numbers are
    ``n`` + the 78-digit complement, so that more negative sorts first.
    """
    if value >= 0:
        return f"p{value:0{_DIGITS}d}"
    return f"n{_OFFSET + value:0{_DIGITS}d}"


def decode_sortable(text: str) -> int:
    """Invert :func:`encode_sortable`."""
    sign, digits = text[0], text[1:]
    if sign == "p":
        return int(digits)
    if sign == "n":
        return int(digits) - _OFFSET
    # Tolerate plain integers written by hand or by older code.
    return int(text)


def to_amount(value: Any) -> int:
    """Coerce a user or database value into an exact int, refusing fractions."""
    if isinstance(value, bool):
        raise exceptions.ValidationError("A token amount must be an integer, not a boolean.")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise exceptions.ValidationError(
                "A token amount must be a whole number of the smallest unit (wei)."
            )
        return int(value)
    if isinstance(value, float):
        raise exceptions.ValidationError("A token amount must be an exact integer, never a float.")
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        if text[:1] in {"p", "n"} and len(text) == _DIGITS + 1:
            return decode_sortable(text)
        try:
            return int(text)
        except ValueError:
            raise exceptions.ValidationError(
                f"{value!r} is not a whole number of the smallest unit (wei)."
            ) from None
    raise exceptions.ValidationError(f"Cannot use {type(value).__name__} as a token amount.")


class TokenAmountField(models.Field):
    """An exact integer amount of a token (or of wei), up to 2**256-1.

    ``signed=False`` (the default) refuses negative values in validation.
    """

    description = "Exact integer token amount (up to 2**256-1)"
    empty_strings_allowed = False
    default_error_messages = {
        "negative": "This amount cannot be negative.",
        "too_large": "This amount is larger than 2**256-1.",
    }

    def __init__(self, *args: Any, signed: bool = False, **kwargs: Any) -> None:
        self.signed = signed
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        if self.signed:
            kwargs["signed"] = True
        return name, path, args, kwargs

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return super().check(**kwargs)

    def db_type(self, connection: Any) -> str:
        if connection.vendor == "postgresql":
            return f"numeric({_DIGITS}, 0)"
        if connection.vendor == "sqlite":
            return "text"
        # Other backends: a wide exact decimal where supported.
        return f"numeric({_DIGITS}, 0)"

    def get_internal_type(self) -> str:
        return "TokenAmountField"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, str):
            return decode_sortable(value)
        return to_amount(value)

    def to_python(self, value: Any) -> int | None:
        if value is None or value == "":
            return None
        return to_amount(value)

    def get_prep_value(self, value: Any) -> int | None:
        value = super().get_prep_value(value)
        if value is None:
            return None
        if hasattr(value, "resolve_expression"):
            return value
        return to_amount(value)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or hasattr(value, "resolve_expression"):
            return value
        value = to_amount(value)
        if connection.vendor == "sqlite":
            return encode_sortable(value)
        return Decimal(value)

    def validate(self, value: Any, model_instance: Any) -> None:
        super().validate(value, model_instance)
        if value is None:
            return
        if not self.signed and value < 0:
            raise exceptions.ValidationError(self.error_messages["negative"], code="negative")
        if abs(value) > UINT256_MAX:
            raise exceptions.ValidationError(self.error_messages["too_large"], code="too_large")

    def formfield(self, **kwargs: Any) -> Any:
        from trading.forms import TokenAmountFormField

        defaults: dict[str, Any] = {"form_class": TokenAmountFormField, "signed": self.signed}
        defaults.update(kwargs)
        return super().formfield(**defaults)


class AmountSum(models.Aggregate):
    """Exact ``SUM`` of a :class:`TokenAmountField` on PostgreSQL and SQLite.

    ``Sum`` is exact on PostgreSQL's numeric; on SQLite this uses the
    ``listonian_amount_sum`` aggregate registered below instead of SQLite's
    float-prone ``SUM``. An empty set sums to 0, not NULL.
    """

    function = "SUM"
    name = "AmountSum"
    allow_distinct = False

    def __init__(self, expression: Any, **extra: Any) -> None:
        extra.setdefault("output_field", TokenAmountField(signed=True))
        super().__init__(expression, default=0, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, function="LISTONIAN_AMOUNT_SUM", **extra_context)


class _SqliteAmountSum:
    """SQLite aggregate: exact sum of values encoded by :func:`encode_sortable`."""

    def __init__(self) -> None:
        self.total = 0
        self.seen = False

    def step(self, value: Any) -> None:
        if value is None:
            return
        self.seen = True
        self.total += decode_sortable(value) if isinstance(value, str) else int(value)

    def finalize(self) -> str | None:
        return encode_sortable(self.total) if self.seen else None


@receiver(connection_created)
def _register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("LISTONIAN_AMOUNT_SUM", 1, _SqliteAmountSum)
