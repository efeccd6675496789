from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard.metrics_view import metrics_endpoint

admin.site.site_header = "Listonian administration"
admin.site.site_title = "Listonian admin"
admin.site.index_title = "Bot settings and history"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("metrics", metrics_endpoint, name="metrics"),
    path("", include("dashboard.urls")),
]
