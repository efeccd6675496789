"""Filter forms of the history, export and performance pages under hostile input.

Every query string, however malformed, gets an answer that is not a server
error; input the forms refuse is named on the page.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ..trading import factories as f
from .helpers import cycle

HTML_PAGES = ["dashboard:opportunities", "dashboard:trades", "dashboard:performance"]
EXPORTS = ["dashboard:opportunities_csv", "dashboard:trades_csv", "dashboard:performance_data"]
PARAMETERS = [
    "status",
    "token",
    "dex",
    "mode",
    "min_profit",
    "max_profit",
    "since",
    "until",
    "range",
    "page",
]

_dates = st.dates(min_value=dt.date.min, max_value=dt.date.max).map(dt.date.isoformat)
_numbers = st.one_of(
    st.integers(min_value=-(2**300), max_value=2**300).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["1e999999", "-1e-999999", "0x10", "1_000", " 1 ", "١٢", "NaN", "-0"]),
)
_values = st.one_of(
    st.text(max_size=40),
    _numbers,
    _dates,
    st.sampled_from(["", "executed", "success", "live", "dry_run", "24h", "7d", "30d"]),
)
_queries = st.dictionaries(
    st.one_of(st.sampled_from(PARAMETERS), st.text(max_size=10)), _values, max_size=6
)


@pytest.fixture
def some_history(market):
    opp = cycle(market, net_profit=5 * 10**15, status="executed")
    f.trade(opp, realized_profit=10**15)
    return opp


def _get(client, name: str, query: dict[str, str]):
    # Surrogates cannot be sent in a URL; everything else goes through as typed.
    text = {
        k.encode("utf-8", "replace").decode(): v.encode("utf-8", "replace").decode()
        for k, v in query.items()
    }
    return client.get(reverse(name) + "?" + urlencode(text))


@pytest.mark.parametrize("name", HTML_PAGES + EXPORTS)
@pytest.mark.parametrize(
    "query",
    [
        {"until": "9999-12-31"},
        {"since": "9999-12-31"},
        {"since": "0001-01-01"},
        {"since": "0001-01-01", "until": "0001-01-02"},
        {"since": "9999-12-30", "until": "9999-12-31"},
    ],
)
def test_far_dates_are_refused_not_a_server_error(operator_client, some_history, name, query):
    response = _get(operator_client, name, query)
    assert response.status_code in {200, 400}


@pytest.mark.parametrize("name", HTML_PAGES)
def test_a_far_date_is_named_on_the_page(operator_client, some_history, name):
    response = _get(operator_client, name, {"since": "2026-01-01", "until": "9999-12-31"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="form-errors"' in body and "Choose a date between" in body


@pytest.mark.parametrize("name", ["dashboard:opportunities", "dashboard:trades"])
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"token": str(2**70)}, "Select a valid choice"),
        ({"dex": "-1"}, "Select a valid choice"),
        ({"min_profit": "1e999999"}, "Profit from:"),
        ({"max_profit": "NaN"}, "to:"),
        ({"status": "<script>"}, "Select a valid choice"),
    ],
)
def test_bad_filters_are_named_on_the_page(operator_client, some_history, name, query, message):
    response = _get(operator_client, name, query)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="form-errors"' in body and message in body
    assert "<script>" not in body.split('class="form-errors"', 1)[1].split("</ul>", 1)[0]


@pytest.mark.parametrize("name", ["dashboard:opportunities_csv", "dashboard:trades_csv"])
def test_an_export_with_bad_filters_says_why_instead_of_exporting(
    operator_client, some_history, name
):
    # A file that silently ignored a filter would pass for the filtered set.
    response = _get(operator_client, name, {"status": "nope", "until": "9999-12-31"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Status" in body and "Until" in body
    assert not response.get("Content-Disposition")


@pytest.mark.parametrize("name", HTML_PAGES + EXPORTS)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=_queries)
@example(query={"until": "9999-12-31"})
@example(query={"page": str(2**80), "token": str(2**80), "dex": "-5"})
@example(query={"min_profit": "-" + "9" * 200, "max_profit": "1e-999"})
def test_no_query_string_makes_a_server_error(operator_client, some_history, name, query):
    # The test client raises what the view raises: a 500 fails here with its traceback.
    response = _get(operator_client, name, query)
    assert response.status_code in {200, 400}
