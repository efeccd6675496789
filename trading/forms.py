"""Form fields shared by the admin and the dashboard."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from trading.addresses import normalize_address
from trading.fields import UINT256_MAX, to_amount


class TokenAmountFormField(forms.CharField):
    """A whole number of a token's smallest unit, typed as digits (underscores allowed)."""

    def __init__(self, *args: Any, signed: bool = False, **kwargs: Any) -> None:
        self.signed = signed
        kwargs.pop("max_length", None)
        super().__init__(*args, **kwargs)
        # Wide enough for 2**256-1 (78 digits) without scrolling.
        self.widget.attrs.setdefault("size", 40)
        self.widget.attrs.setdefault("inputmode", "numeric")

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int):
            return str(value)
        return value

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]  # digits in, an int out
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        amount = to_amount(value)
        if not self.signed and amount < 0:
            raise ValidationError("This amount cannot be negative.", code="negative")
        if abs(amount) > UINT256_MAX:
            raise ValidationError("This amount is larger than 2**256-1.", code="too_large")
        return amount


class AddressFormField(forms.CharField):
    """An EVM address; returned in checksum form."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 42)
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        if value in self.empty_values:
            return ""
        return normalize_address(value)
