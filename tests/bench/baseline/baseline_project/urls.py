from django.http import HttpResponse
from django.urls import include, path


def hello(request):
    return HttpResponse("hello")


urlpatterns = [
    path("hello", hello),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
