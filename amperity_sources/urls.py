from django.contrib import admin
from django.contrib.auth import urls as auth_urls
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

# Every page needs a signed-in user (django's LoginRequiredMiddleware) unless its view is marked
# login_not_required: log in, password reset (marked by Django), log out (marked here, so a
# session that expired logs out instead of sending the user to log in and back to a log-out
# page) and the health check. tests/test_login_required.py holds the list.
accounts = [
    path("logout/", login_not_required(auth_views.LogoutView.as_view()), name="logout"),
    *(pattern for pattern in auth_urls.urlpatterns if pattern.name != "logout"),
]

urlpatterns = [
    path("", views.sources, name="sources"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    ),
    path("status/", views.status, name="status"),
    path("accounts/", include(accounts)),
    path("admin/", admin.site.urls),
    path("credentials/", include("credentials.urls")),
    path("couriers/", include("couriers.urls")),
    path("feeds/", include("feeds.urls")),
    path("groups/", include("courier_groups.urls")),
    path("notifications/", include("notifications.urls")),
]

# Styled error pages (used when DEBUG is off). The 404 page is Django's own handler with
# templates/404.html; the 500 page needs neither the request nor the database.
handler500 = views.server_error
