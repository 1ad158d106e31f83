"""URLs of the Heap source (included by couriers/urls.py)."""

from django.urls import path

from .views import heap

heap_urlpatterns = [
    path("add/heap/", heap.heap_add, name="heap_add"),
    path("<int:pk>/heap/", heap.heap_detail, name="heap_detail"),
    path("<int:pk>/heap/activate/", heap.heap_activate, name="heap_activate"),
    path("<int:pk>/heap/add-columns/", heap.heap_add_columns, name="heap_add_columns"),
]
