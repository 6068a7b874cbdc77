"""The project's URLconf plus one page whose view fails: the only way to see what a visitor gets
from a 500 (every real view of ours is meant not to fail)."""

from django.urls import path

# The project's error handlers, as the root URLconf must name them.
from portal.urls import handler400, handler404, handler500  # noqa: F401
from portal.urls import urlpatterns as project_urlpatterns


def failing_page(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("failing-page", failing_page), *project_urlpatterns]
