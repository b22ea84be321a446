from django.urls import path

from . import views

app_name = "destinations"
urlpatterns = [
    path("destinations/", views.destination_list, name="list"),
    path("destinations/new/", views.destination_add, name="add"),
    path("destinations/new/bluesky/", views.destination_add_bluesky, name="add-bluesky"),
    path("destinations/<int:pk>/<str:action>/", views.destination_action, name="action"),
    path("deliveries/<int:pk>/retry/", views.delivery_retry_page, name="delivery-retry"),
]
