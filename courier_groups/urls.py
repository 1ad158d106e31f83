from django.urls import path

from amperity_sources.placeholder import not_built_yet

app_name = "courier_groups"
urlpatterns = [
    path("add/", not_built_yet, name="add"),
    path("<int:pk>/", not_built_yet, name="detail"),
    path("<int:pk>/edit/", not_built_yet, name="edit"),
    path("<int:pk>/run/", not_built_yet, name="run"),
    path("<int:pk>/copy/", not_built_yet, name="copy"),
    path("<int:pk>/delete/", not_built_yet, name="delete"),
]
