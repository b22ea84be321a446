from django.contrib import admin
from django.urls import include, path

from accounts.throttling import login_throttled

from . import views

admin.site.site_header = "psched administration"
admin.site.site_title = "psched admin"
admin.site.index_title = "Scheduled posts, dispatcher nodes and accounts (times in UTC unless a zone is named)"

handler404 = "psched.views.not_found"

urlpatterns = [
    # The API first: its requests are the many, and the pages' patterns (prefix "") would each
    # be tried before it.
    path("api/", include("psched.api_urls")),
    path("", include("feed.urls")),
    path("", include("scheduling.urls")),
    path("", include("destinations.urls")),
    path("", include("dispatchers.urls")),
    path("accounts/", include("accounts.urls")),
    path("admin/login/", login_throttled(admin.site.login)),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
]
