from django.urls import path

from . import views

app_name = "dispatchers"
urlpatterns = [
    path("dispatchers/", views.dashboard, name="dashboard"),
    path("dispatchers/<slug:name>/state/", views.node_state, name="node-state"),
]
