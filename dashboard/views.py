"""Dashboard pages. Views stay thin: reads go through selectors, writes through services.

One template serves a page and its fragments (``{% partialdef %}``): htmx
requests get the fragment they target, plain requests the whole page.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dashboard import broadcast, charts, exports, live, presenters
from dashboard import performance as performance_figures
from dashboard.forms import (
    BotLimitsForm,
    HistoryFilterForm,
    PerformanceRangeForm,
    PerformanceViewForm,
)
from dashboard.permissions import can_control_bot
from trading import selectors
from trading.chain.signer import signing_key_source
from trading.models import BotConfig, Network
from trading.services.controls import bot_config_set_paused, bot_config_update

PAGE_SIZE = 50
FEED_OPPORTUNITIES = 20
FEED_TRADES = 10
CONTROL_CHANGES_SHOWN = 10


def _overview_context() -> dict[str, Any]:
    snapshot = selectors.latest_gas_snapshot()
    loaded = presenters.engine_and_network()  # shared by the status and the system panels
    return {
        "status": presenters.status_event(loaded),
        "stats": presenters.stats_event(),
        "gas": presenters.gas_event(snapshot) if snapshot else None,
        "opportunities": presenters.opportunity_events(
            selectors.recent_opportunities(FEED_OPPORTUNITIES)
        ),
        "trades": presenters.trade_events(selectors.recent_trades(FEED_TRADES)),
        "system": presenters.system_event(loaded),
        "feed_opportunities": FEED_OPPORTUNITIES,
        "feed_trades": FEED_TRADES,
        "backoffs": selectors.active_backoffs(),
    }


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Bot status and controls, live feeds, gas, market, component health, memory bank."""
    template = "dashboard/overview.html"
    if request.htmx and request.GET.get("panels"):
        # After a reconnect the page asks for every live panel at once, to
        # catch up on the events it missed while it was offline.
        template += "#live-panels"
    context = _overview_context()
    context["can_control"] = can_control_bot(request.user)
    return render(request, template, context)


def _bot_status_response(request: HttpRequest) -> HttpResponse:
    if request.htmx:
        return render(
            request,
            "dashboard/overview.html#bot-status",
            {"status": presenters.status_event(), "can_control": True},
        )
    return redirect("dashboard:overview")


def _require_control(view: Any) -> Any:
    """Refuse (403) users who may read the dashboard but not pause or resume trading."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_control_bot(request.user):
            raise PermissionDenied("Pausing and resuming trading needs the bot config right.")
        return view(request, *args, **kwargs)

    return wrapper


@login_required
@require_POST
@_require_control
def bot_pause(request: HttpRequest) -> HttpResponse:
    """Turn the kill switch on: nothing is sent until an operator resumes."""
    bot_config_set_paused(paused=True, reason=request.POST.get("reason", ""), user=request.user)
    return _bot_status_response(request)


@login_required
@require_POST
@_require_control
def bot_resume(request: HttpRequest) -> HttpResponse:
    """Turn the kill switch off."""
    bot_config_set_paused(paused=False, user=request.user)
    return _bot_status_response(request)


def _history(request: HttpRequest, *, kind: str) -> tuple[Any, HistoryFilterForm]:
    form = HistoryFilterForm(request.GET or None, kind=kind)
    filters = form.filters()
    if kind == "opportunities":
        queryset = selectors.opportunity_history(filters)
    else:
        queryset = selectors.trade_history(filters)
    return queryset, form


def _history_csv(request: HttpRequest, *, kind: str) -> HttpResponse:
    queryset, form = _history(request, kind=kind)
    if form.errors:
        # A page shows its refused filters next to the rows; a file cannot, and
        # would pass for the filtered set: say why instead.
        text = "\n".join(form.refusals())
        return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")
    rows = exports.opportunity_rows if kind == "opportunities" else exports.trade_rows
    return exports.csv_response(rows(queryset), kind, asynchronous=isinstance(request, ASGIRequest))


def _history_page(request: HttpRequest, *, kind: str, template: str) -> HttpResponse:
    if live.LIVE_PARAM in request.GET:
        return _history_live(request, kind=kind, template=template)
    queryset, form = _history(request, kind=kind)
    # Taken before the rows are read: a row written in between is at worst
    # shown and announced as new, never missed.
    cursor = selectors.history_cursor(kind)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    if kind == "opportunities":
        rows = presenters.opportunity_events(page.object_list)
    else:
        rows = presenters.trade_events(page.object_list)
    filtered = bool(request.GET.dict().keys() - {"page"})
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "filtered": filtered,
        "live": live.page_state(request, page_number=page.number, cursor=cursor),
    }
    if request.htmx and request.htmx.target == "results":
        template += "#results"
    return render(request, template, context)


def _history_live(request: HttpRequest, *, kind: str, template: str) -> HttpResponse:
    """What arrived or changed since a history page loaded (see :mod:`dashboard.live`)."""
    try:
        ask = live.parse_ask(request.GET)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    queryset, _ = _history(request, kind=kind)
    answer = live.answer(queryset, kind=kind, ask=ask, limit=PAGE_SIZE)
    context = {"answer": answer, "row_template": f"{template}#row"}
    return render(request, "dashboard/_history_live.html#answer", context)


@login_required
def opportunities(request: HttpRequest) -> HttpResponse:
    """Opportunity history with filters and pagination."""
    return _history_page(request, kind="opportunities", template="dashboard/opportunities.html")


@login_required
def opportunities_csv(request: HttpRequest) -> HttpResponse:
    """The filtered opportunities as CSV (every page)."""
    return _history_csv(request, kind="opportunities")


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One opportunity: its path hop by hop, amounts and the trades made of it."""
    opportunity = selectors.opportunity_detail(pk)
    if opportunity is None:
        raise Http404("No such opportunity")
    context = {
        "opportunity": opportunity,
        "o": presenters.opportunity_event(opportunity),
        "trades": presenters.trade_events(opportunity.trades.all()),
    }
    return render(request, "dashboard/opportunity_detail.html", context)


@login_required
def trades(request: HttpRequest) -> HttpResponse:
    """Trade history with filters and pagination."""
    return _history_page(request, kind="trades", template="dashboard/trades.html")


@login_required
def trades_csv(request: HttpRequest) -> HttpResponse:
    """The filtered trades as CSV (every page)."""
    return _history_csv(request, kind="trades")


@login_required
def trade_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One trade: path, amounts, gas, transaction and the opportunity it came from."""
    trade = selectors.trade_detail(pk)
    if trade is None:
        raise Http404("No such trade")
    context = {
        "trade": trade,
        "t": presenters.trade_event(trade),
        "o": presenters.opportunity_event(trade.opportunity),
        "token": trade.opportunity.start_token,
    }
    return render(request, "dashboard/trade_detail.html", context)


def _performance(
    request: HttpRequest, *, with_breakdown: bool = True
) -> tuple[PerformanceRangeForm, PerformanceViewForm, Any, selectors.Performance, Any]:
    form = PerformanceRangeForm(request.GET or None)
    view_form = PerformanceViewForm(request.GET or None)
    time_range = form.time_range()
    mode = form.trade_mode()
    perf = selectors.performance(
        since=time_range.since, until=time_range.until, mode=mode, with_hops=with_breakdown
    )
    figures = performance_figures.figures(
        perf, list(perf.facts), view_form.view(), request.GET, with_breakdown=with_breakdown
    )
    return form, view_form, time_range, perf, figures


@login_required
def performance(request: HttpRequest) -> HttpResponse:
    """Figures and charts of a chosen range in one currency, and a sortable breakdown
    by route, DEX, pair or start token."""
    form, view_form, time_range, perf, figures = _performance(request)
    data = charts.performance_json(perf)
    context = {
        "form": form,
        "view_form": view_form,
        "range": time_range,
        "perf": perf,
        "data": data,
        "figures": figures,
        "presets": _preset_links(request, form),
        "native_symbol": performance_figures.native_symbol(),
        "total_trades": sum(perf.trades),
        "gas_total_wei": sum(perf.gas_cost_wei),
        "success_rate": _rate(sum(perf.successful), sum(perf.settled)),
        "query": request.GET.urlencode(),
    }
    template = "dashboard/performance.html"
    if request.htmx and request.htmx.target == "performance-figures":
        # A live refresh: the figures only (the charts fetch their data again).
        template += "#figures"
    return render(request, template, context)


def _preset_links(request: HttpRequest, form: PerformanceRangeForm) -> list[tuple[str, str]]:
    # A preset replaces the dates and keeps the rest (mode, currency, grouping, order).
    links = []
    for key, _ in form.fields["range"].choices:
        params = request.GET.copy()
        for name in ("since", "until", "range"):
            params.pop(name, None)
        params["range"] = key
        links.append((key, "?" + params.urlencode()))
    return links


def _rate(ok: int, settled: int) -> str:
    return f"{ok * 100 / settled:.1f}%" if settled else ""


@login_required
def performance_data(request: HttpRequest) -> JsonResponse:
    """The performance series as JSON (exact decimal strings, never floats)."""
    _, _, _, perf, figures = _performance(request, with_breakdown=False)
    data = charts.performance_json(perf, native_symbol=performance_figures.native_symbol())
    data["currency"] = performance_figures.currency_json(figures)
    return JsonResponse(data)


@login_required
def performance_csv(request: HttpRequest) -> HttpResponse:
    """The breakdown table as CSV: the same rows, exact decimal strings in the currency."""
    form, view_form, _, _, figures = _performance(request)
    refusals = [*form.refusals(), *view_form.refusals()] if form.errors or view_form.errors else []
    if refusals:
        # A file cannot show what was refused, and would pass for what was asked.
        return HttpResponseBadRequest("\n".join(refusals), content_type="text/plain; charset=utf-8")
    # The symbol comes from the chain: only letters and digits reach the file name.
    symbol = "".join(c for c in figures.currency.symbol.lower() if c.isascii() and c.isalnum())
    name = f"performance-by-{figures.view.group}-{symbol or 'token'}"
    return exports.csv_response(
        performance_figures.csv_rows(figures), name, asynchronous=isinstance(request, ASGIRequest)
    )


@login_required
def system(request: HttpRequest) -> HttpResponse:
    """The bot's own figures, live: stage timings, keeping up, RPC, locks, processes."""
    return render(request, "dashboard/system.html", {"system": presenters.system_event()})


def _settings_context(request: HttpRequest, form: BotLimitsForm | None = None) -> dict[str, Any]:
    config = BotConfig.load()
    network = Network.objects.active()
    test_chain = bool(network and network.is_local_test_chain)
    key_source, key_address = signing_key_source()
    state = selectors.engine_state()
    engine_signer = ((state.balances or {}).get("signer") or {}).get("address") if state else ""
    can_change = can_control_bot(request.user)
    if form is None and can_change:
        form = BotLimitsForm(config=config, test_chain=test_chain)
    return {
        "config": config,
        "network": network,
        "key_source": key_source,
        "key_address": key_address,
        # In scale-out the web process has no key (by design): the engine says
        # which account it signs with.
        "engine_signer": engine_signer,
        "limits_form": form,
        "time_zone": settings.LISTONIAN_TIME_ZONE,
        "channel_layer": broadcast.channel_layer_name(),
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "control_changes": selectors.recent_control_changes(CONTROL_CHANGES_SHOWN),
    }


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    """The main limits (editable in units by operators with the right), the record of
    every change, where the rest is configured, and facts about this installation."""
    return render(request, "dashboard/settings.html", _settings_context(request))


@login_required
@require_POST
def settings_limits(request: HttpRequest) -> HttpResponse:
    """Change the mode and the main limits; every change is recorded."""
    if not can_control_bot(request.user):
        raise PermissionDenied("Changing the bot's limits needs the bot config right.")
    network = Network.objects.active()
    form = BotLimitsForm(
        request.POST,
        config=BotConfig.load(),
        test_chain=bool(network and network.is_local_test_chain),
    )
    if not form.is_valid():
        context = _settings_context(request, form)
        return render(request, "dashboard/settings.html", context, status=400)
    changes = bot_config_update(values=form.values(), user=request.user, source="dashboard")
    if changes:
        names = ", ".join(change.setting_label.lower() for change in changes)
        messages.success(request, f"Saved: {names}.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect("dashboard:settings")
