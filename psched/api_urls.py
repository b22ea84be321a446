from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.api import TokenApi

from dispatchers import api as dispatchers_api
from feed import api as feed_api
from scheduling import api as scheduling_api

from .views import api_root

urlpatterns = [
    path("", api_root, name="api-root"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("auth/token/", TokenApi.as_view(), name="api-token"),
    path("posts/", feed_api.PostListApi.as_view(), name="api-posts"),
    path("posts/<int:pk>/", feed_api.PostDetailApi.as_view(), name="api-post"),
    path("scheduled-posts/", scheduling_api.ScheduledPostListApi.as_view(), name="api-scheduled-posts"),
    path("scheduled-posts/<int:pk>/", scheduling_api.ScheduledPostDetailApi.as_view(), name="api-scheduled-post"),
    path("scheduled-posts/<int:pk>/retry/", scheduling_api.ScheduledPostRetryApi.as_view(), name="api-scheduled-post-retry"),
    path("dispatchers/", dispatchers_api.DispatcherListApi.as_view(), name="api-dispatchers"),
]
