from django.urls import path

from . import views

urlpatterns = [
    path("bare/", views.bare),
    path("drf-insert/", views.DrfInsert.as_view()),
]
