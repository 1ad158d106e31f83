from django.urls import path

from amperity_sources.placeholder import not_built_yet

app_name = "credentials"
urlpatterns = [
    path("", not_built_yet, name="list"),
    path("add/", not_built_yet, name="add"),
    path("<int:pk>/edit/", not_built_yet, name="edit"),
    path("<int:pk>/test/", not_built_yet, name="test"),
    path("<int:pk>/delete/", not_built_yet, name="delete"),
]
