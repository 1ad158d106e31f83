from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.sources, name="sources"),
    path("healthz", views.healthz, name="healthz"),
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
