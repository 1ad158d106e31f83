from django.urls import path

from . import views

app_name = "courier_groups"
urlpatterns = [
    path("add/", views.group_add, name="add"),
    path("cron-preview/", views.cron_preview, name="cron_preview"),
    path("<int:pk>/", views.group_detail, name="detail"),
    path("<int:pk>/edit/", views.group_edit, name="edit"),
    path("<int:pk>/run/", views.group_run, name="run"),
    path("<int:pk>/copy/", views.group_copy_view, name="copy"),
    path("<int:pk>/delete/", views.group_delete_view, name="delete"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
]
