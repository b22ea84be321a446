from django.urls import path

from . import views

app_name = "dispatchers"
urlpatterns = [
    path("dispatchers/", views.dashboard, name="dashboard"),
]
