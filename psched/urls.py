from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("feed.urls")),
    path("", include("scheduling.urls")),
    path("", include("dispatchers.urls")),
    path("accounts/", include("accounts.urls")),
    path("api/", include("psched.api_urls")),
    path("admin/", admin.site.urls),
]
