"""Temporary: pages whose issue is still in progress answer 501 instead of a broken link."""

from django.http import HttpResponse


def not_built_yet(request, *args, **kwargs):
    return HttpResponse("This page is not built yet.", status=501, content_type="text/plain")
