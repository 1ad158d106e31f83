from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("", views.sources, name="sources"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    ),
    path("accounts/", include("django.contrib.auth.urls")),
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
