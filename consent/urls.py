from django.urls import path

from consent import account, views

urlpatterns = [
    path("account/", account.hub, name="account"),
    path("account/password", account.password, name="account-password"),
    path("account/email", account.email, name="account-email"),
    path("account/delete", account.delete, name="account-delete"),
    path("account/apps", views.apps, name="account-apps"),
    path("account/apps/<str:grant_id>/revoke", views.revoke, name="account-app-revoke"),
]
