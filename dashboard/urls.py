from django.urls import path

from dashboard import distributions, views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("bot/pause/", views.bot_pause, name="bot_pause"),
    path("bot/resume/", views.bot_resume, name="bot_resume"),
    path("opportunities/", views.opportunities, name="opportunities"),
    path("opportunities/export.csv", views.opportunities_csv, name="opportunities_csv"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("trades/", views.trades, name="trades"),
    path("trades/export.csv", views.trades_csv, name="trades_csv"),
    path("trades/<int:pk>/", views.trade_detail, name="trade_detail"),
    path("performance/", views.performance, name="performance"),
    path("performance/data.json", views.performance_data, name="performance_data"),
    path("performance/export.csv", views.performance_csv, name="performance_csv"),
    path("system/", views.system, name="system"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/limits/", views.settings_limits, name="settings_limits"),
    path("distributions/", distributions.distributions, name="distributions"),
]
