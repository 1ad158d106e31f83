from django.urls import path

from .urls_heap import heap_urlpatterns
from .urls_runs import run_urlpatterns
from .views import actions, browse, editors, review

app_name = "couriers"
urlpatterns = (
    [
        path("add/", editors.add, name="add"),
        path("<int:pk>/", actions.detail, name="detail"),
        path("<int:pk>/edit/", editors.edit, name="edit"),
        path("<int:pk>/edit/new-editor/", editors.wizard_edit, name="wizard_edit"),
        path("<int:pk>/copy/", actions.copy, name="copy"),
        path("<int:pk>/delete/", actions.delete, name="delete"),
        path("<int:pk>/browse/", browse.browse, name="browse"),
        path("<int:pk>/pattern/", browse.pattern_test, name="pattern"),
        path("<int:pk>/review/", review.review, name="review"),
        path("<int:pk>/review/preview/", review.review_preview, name="review_preview"),
        path("<int:pk>/attach-feed/", editors.attach_feed, name="attach_feed"),
        path("<int:pk>/load-operations/remove/", editors.remove_load, name="remove_load"),
        # The new editor works on a draft (kept in the session) until Save.
        path("new/<str:draft>/", editors.wizard, name="wizard"),
        path("new/<str:draft>/browse/", browse.browse, name="wizard_browse"),
        path("new/<str:draft>/pattern/", browse.pattern_test, name="wizard_pattern"),
        path("new/<str:draft>/review/", review.review, name="wizard_review"),
        path(
            "new/<str:draft>/review/preview/", review.review_preview, name="wizard_review_preview"
        ),
        path("new/<str:draft>/feed/", editors.wizard_feed, name="wizard_feed"),
        path("new/<str:draft>/compare/", editors.wizard_compare, name="wizard_compare"),
        path(
            "new/<str:draft>/feed/preview/", editors.wizard_load_preview, name="wizard_load_preview"
        ),
    ]
    + run_urlpatterns
    + heap_urlpatterns
)
