"""Live history pages: what arrived or changed since a page was loaded.

A history page (/opportunities/, /trades/) remembers, when it loads, the highest
row id stored (its cursor). Its websocket receives a tiny signal per changed row
(the same frame for every open page, rendered once per process); the page then
asks its own URL, with its own filters and page number, plus ``live=<cursor>``
(and ``changed=<ids>`` for the signalled rows it shows). The answer holds:

- how many rows newer than the cursor the page's filters keep, and, on the
  first page only, those rows newest first (at most a page of them);
- the rows it shows that changed, to update in place whatever the filters.

The filter is the page's own queryset, evaluated by the database: what a live
page adds on top is exactly what a reload would show there, and a row the
filters exclude is neither shown nor counted. The answer is the whole state
since the page loaded, not a delta, so a signal that was lost (a reconnect)
costs nothing: the next answer carries every new row again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, QueryDict

from dashboard import presenters
from dashboard.events import OpportunityEvent, TradeEvent
from trading import selectors

LIVE_PARAM = "live"
CHANGED_PARAM = "changed"
# The rows a page shows at most (its own plus those added live) bound what it may ask about.
MAX_CHANGED = 200
# Primary keys are 64-bit: a larger number overflows the database driver.
MAX_ROW_ID = 2**63 - 1


@dataclass(frozen=True)
class LivePage:
    """What a history page needs to follow its rows live."""

    url: str  # the page's own query plus its cursor: where it asks
    first_url: str  # the first page with the same filters: where "N new — show" leads
    first_page: bool
    cursor: int


@dataclass(frozen=True)
class LiveAsk:
    """A page's question: rows newer than ``cursor``; the shown rows ``changed``."""

    cursor: int
    first_page: bool
    changed: tuple[int, ...] = ()


@dataclass(frozen=True)
class LiveAnswer:
    new_count: int
    new_rows: Sequence[OpportunityEvent | TradeEvent]
    changed_rows: Sequence[OpportunityEvent | TradeEvent]


def page_state(request: HttpRequest, *, page_number: int, cursor: int) -> LivePage:
    """The live state of a history page being rendered (its URL's filters kept as sent)."""
    query = request.GET.copy()
    for name in (LIVE_PARAM, CHANGED_PARAM, "page"):
        query.pop(name, None)
    first_url = request.path + (f"?{query.urlencode()}" if query else "")
    query["page"] = str(page_number)
    query[LIVE_PARAM] = str(cursor)
    return LivePage(
        url=f"{request.path}?{query.urlencode()}",
        first_url=first_url,
        first_page=page_number == 1,
        cursor=cursor,
    )


def _row_id(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name}: expected a row id, got {text[:40]!r}") from None
    if value < 0:
        raise ValueError(f"{name}: a row id is never negative, got {value}")
    if value > MAX_ROW_ID:
        raise ValueError(f"{name}: no row has that id (ids end at {MAX_ROW_ID}), got {text[:40]!r}")
    return value


def parse_ask(params: QueryDict) -> LiveAsk:
    """The page's question from its query string; ValueError says what is wrong."""
    cursor = _row_id(params.get(LIVE_PARAM, ""), LIVE_PARAM)
    raw = params.get(CHANGED_PARAM, "")
    changed = tuple(
        dict.fromkeys(_row_id(part, CHANGED_PARAM) for part in raw.split(",") if part.strip())
    )
    if len(changed) > MAX_CHANGED:
        raise ValueError(f"{CHANGED_PARAM}: at most {MAX_CHANGED} row ids, got {len(changed)}")
    # The page's own number, as its live URL says it (a page renders it normalised).
    return LiveAsk(cursor=cursor, first_page=params.get("page", "1") == "1", changed=changed)


def _present(kind: str, rows: Any) -> list[Any]:
    if kind == "opportunities":
        return list(presenters.opportunity_events(rows))
    return list(presenters.trade_events(rows))


def answer(queryset: Any, *, kind: str, ask: LiveAsk, limit: int) -> LiveAnswer:
    """Rows of ``queryset`` (the page's filtered history) newer than the cursor, and the
    changed rows the page shows. Four queries or so, plus the rows' presenters."""
    newer = queryset.filter(pk__gt=ask.cursor)
    count = newer.count()
    new_rows = _present(kind, newer[:limit]) if ask.first_page and count else []
    added = {row.id for row in new_rows}
    wanted = [pk for pk in ask.changed if pk not in added]
    changed_rows: list[Any] = []
    if wanted:
        # Every filter aside: a row already shown is updated where it stands.
        every = (
            selectors.opportunity_history(selectors.HistoryFilters())
            if kind == "opportunities"
            else selectors.trade_history(selectors.HistoryFilters())
        )
        changed_rows = _present(kind, every.filter(pk__in=wanted))
    return LiveAnswer(new_count=count, new_rows=new_rows, changed_rows=changed_rows)
