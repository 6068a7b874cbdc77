"""``/favicon.ico``: browsers ask for it on every page that names no icon (the admin's, a JSON answer
opened in a tab); it is the site's icon (``static/img/favicon.svg``, drawn as an .ico for every browser).

A redirect to the static file rather than the bytes: in production the target is the hashed name
WhiteNoise serves with a year's immutable cache, so the redirect itself is cached for a day only
(a new icon shows within a day of a deploy)."""

from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

REDIRECT_CACHE_SECONDS = 24 * 3600


@require_safe
def favicon(request):
    response = HttpResponseRedirect(static("img/favicon.ico"))
    patch_cache_control(response, public=True, max_age=REDIRECT_CACHE_SECONDS)
    return response
