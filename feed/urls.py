from django.urls import path

from . import views

app_name = "feed"
urlpatterns = [
    path("", views.index, name="index"),
    path("feed/new/", views.new_posts, name="new-posts"),
]
