from django.urls import path

from consent import views

urlpatterns = [
    path("account/apps", views.apps, name="account-apps"),
    path("account/apps/<str:grant_id>/revoke", views.revoke, name="account-app-revoke"),
]
