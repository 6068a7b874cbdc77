"""The project's URLconf plus one page during which the database goes away: after its view ran,
before the session middleware saves the session the view changed (what a soak's login met when
PostgreSQL stopped at that moment)."""

from contextlib import ExitStack

from django.http import HttpResponse
from django.urls import path

from portal.urls import handler400, handler404, handler500  # noqa: F401
from portal.urls import urlpatterns as project_urlpatterns
from tests.outage import database_down

# Left down until the test closes it.
OUTAGE = ExitStack()


def database_goes_away(request):
    request.session["seen"] = True
    OUTAGE.enter_context(database_down())
    return HttpResponse("done")


urlpatterns = [path("database-goes-away", database_goes_away), *project_urlpatterns]
