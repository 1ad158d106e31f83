from django.urls import path

from amperity_sources.placeholder import not_built_yet

app_name = "feeds"
urlpatterns = [
    path("add/", not_built_yet, name="add"),
    path("<str:pk>/edit/", not_built_yet, name="edit"),
    path("<str:pk>/copy/", not_built_yet, name="copy"),
    path("<str:pk>/load/", not_built_yet, name="load"),
    path("<str:pk>/truncate/", not_built_yet, name="truncate"),
    path("<str:pk>/delete/", not_built_yet, name="delete"),
    path("explorer/", not_built_yet, name="explorer"),
    path("explorer/<str:pk>/", not_built_yet, name="table"),
]
