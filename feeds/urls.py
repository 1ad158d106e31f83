from django.urls import path

from . import views

app_name = "feeds"
urlpatterns = [
    path("add/", views.feed_add, name="add"),
    path("<str:pk>/edit/", views.feed_edit, name="edit"),
    path("<str:pk>/copy/", views.feed_copy_view, name="copy"),
    path("<str:pk>/load/", views.feed_load, name="load"),
    path("<str:pk>/truncate/", views.feed_truncate_view, name="truncate"),
    path("<str:pk>/delete/", views.feed_delete_view, name="delete"),
    path("explorer/", views.explorer_index, name="explorer"),
    path("explorer/<str:pk>/", views.explorer_table, name="table"),
    path("explorer/<str:pk>/sort-index/", views.sort_index_status, name="sort_index_status"),
]
