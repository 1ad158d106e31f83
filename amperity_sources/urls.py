from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.sources, name="sources"),
    path("healthz", views.healthz, name="healthz"),
    path("status/", views.status, name="status"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("credentials/", include("credentials.urls")),
    path("couriers/", include("couriers.urls")),
    path("feeds/", include("feeds.urls")),
    path("groups/", include("courier_groups.urls")),
    path("notifications/", include("notifications.urls")),
]
