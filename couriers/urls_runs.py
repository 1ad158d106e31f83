"""URLs of courier runs (included by couriers/urls.py)."""

from django.urls import path

from .views import runs

run_urlpatterns = [
    path("<int:pk>/run/", runs.run_courier, name="run"),
    path("<int:pk>/run/impact/", runs.run_impact_panel, name="run_impact"),
    path("<int:pk>/runs/", runs.run_history, name="run_history"),
    path("runs/<int:pk>/", runs.run_detail, name="run_detail"),
    path("runs/<int:pk>/stop/", runs.run_stop, name="run_stop"),
    path("runs/<int:pk>/errors.csv", runs.run_errors_csv, name="run_errors"),
]
