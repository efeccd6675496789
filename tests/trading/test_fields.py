import pytest
from django.db import connection
from django.db.models import Sum
from hypothesis import given
from hypothesis import strategies as st

from trading.fields import UINT256_MAX, AmountSum, decode_sortable, encode_sortable, to_amount
from trading.models import Opportunity, Trade

from . import factories as f

signed_amounts = st.integers(min_value=-UINT256_MAX, max_value=UINT256_MAX)


@given(signed_amounts)
def test_text_encoding_round_trips(value):
    assert decode_sortable(encode_sortable(value)) == value


@given(signed_amounts, signed_amounts)
def test_text_encoding_sorts_like_the_numbers(a, b):
    assert (encode_sortable(a) < encode_sortable(b)) == (a < b)


def test_to_amount_refuses_floats_and_fractions():
    from decimal import Decimal

    from django.core.exceptions import ValidationError

    assert to_amount("1_000") == 1000
    assert to_amount(Decimal("5")) == 5
    for bad in (1.5, Decimal("1.5"), "1.5", "abc", True):
        with pytest.raises(ValidationError):
            to_amount(bad)


EXTREMES = [0, 1, 2**63 - 1, 2**63, 2**64 + 1, 10**30 + 7, UINT256_MAX]


@pytest.fixture
def market(db):
    net = f.network()
    weth = f.token(net, "WETH")
    return net, weth


@pytest.mark.django_db
@pytest.mark.parametrize("value", EXTREMES)
def test_amount_round_trips_exactly(market, value):
    _, weth = market
    opp = f.opportunity(
        weth, amount_in=value, expected_profit=-value, net_profit=-value, gas_cost=value
    )
    opp.refresh_from_db()
    assert opp.amount_in == value and type(opp.amount_in) is int
    assert opp.expected_profit == -value
    assert opp.gas_cost == value


@pytest.mark.django_db
def test_lookups_and_ordering_are_numeric(market):
    _, weth = market
    values = [UINT256_MAX, -5, 0, 2**64, 3, -(2**70)]
    for v in values:
        f.opportunity(weth, net_profit=v)
    ordered = list(Opportunity.objects.order_by("net_profit").values_list("net_profit", flat=True))
    assert ordered == sorted(values)
    assert set(
        Opportunity.objects.filter(net_profit__gt=3).values_list("net_profit", flat=True)
    ) == {
        UINT256_MAX,
        2**64,
    }
    assert Opportunity.objects.filter(net_profit=2**64).count() == 1
    assert Opportunity.objects.filter(net_profit__lt=0).count() == 2


@pytest.mark.django_db
def test_amount_sum_is_exact_on_every_database(market):
    _, weth = market
    opp = f.opportunity(weth)
    # Large enough that a float sum would lose the last digits.
    values = [2**200 + 1, 2**200 + 2, -(2**199) + 3, 10**20 + 9]
    for v in values:
        f.trade(opp, realized_profit=v)
    total = Trade.objects.aggregate(total=AmountSum("realized_profit"))["total"]
    assert total == sum(values) and type(total) is int
    assert Trade.objects.none().aggregate(total=AmountSum("realized_profit"))["total"] == 0


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_column_is_exact_numeric_and_plain_sum_is_exact(market):
    _, weth = market
    opp = f.opportunity(weth, amount_in=UINT256_MAX)
    for v in (UINT256_MAX, UINT256_MAX, -1):
        f.trade(opp, realized_profit=v)
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(
            "select data_type, numeric_precision, numeric_scale from information_schema.columns "
            "where table_name = 'trading_trade' and column_name = 'realized_profit'"
        )
        assert cursor.fetchone() == ("numeric", 78, 0)
    total = Trade.objects.aggregate(total=Sum("realized_profit"))["total"]
    assert total == 2 * UINT256_MAX - 1
    assert Opportunity.objects.get().amount_in == UINT256_MAX
