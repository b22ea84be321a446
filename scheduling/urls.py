from django.urls import path

from . import views

app_name = "scheduling"
urlpatterns = [
    path("scheduled/", views.mine, name="mine"),
    path("scheduled/new/", views.compose, name="compose"),
    path("scheduled/<int:pk>/edit/", views.edit, name="edit"),
    path("scheduled/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("scheduled/<int:pk>/retry/", views.retry, name="retry"),
]
