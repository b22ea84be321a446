from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from accounts.api import TokenApi

from dispatchers import api as dispatchers_api
from feed import api as feed_api
from scheduling import api as scheduling_api
from scheduling import planning_api

from .views import api_root

urlpatterns = [
    path("", api_root, name="api-root"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("auth/token/", TokenApi.as_view(), name="api-token"),
    path("posts/", feed_api.PostListApi.as_view(), name="api-posts"),
    path("posts/<int:pk>/", feed_api.PostDetailApi.as_view(), name="api-post"),
    path("scheduled-posts/", scheduling_api.ScheduledPostListApi.as_view(), name="api-scheduled-posts"),
    path("scheduled-posts/<int:pk>/", scheduling_api.ScheduledPostDetailApi.as_view(), name="api-scheduled-post"),
    path("scheduled-posts/<int:pk>/retry/", scheduling_api.ScheduledPostRetryApi.as_view(), name="api-scheduled-post-retry"),
    path("queue/", planning_api.QueueListApi.as_view(), name="api-queue"),
    path("queue/slots/", planning_api.QueueSlotsApi.as_view(), name="api-queue-slots"),
    path("queue/<int:pk>/move/", planning_api.QueueMoveApi.as_view(), name="api-queue-move"),
    path("queue/<int:pk>/share-now/", planning_api.QueueShareNowApi.as_view(), name="api-queue-share-now"),
    path("series/", planning_api.SeriesListApi.as_view(), name="api-series-list"),
    path("series/<int:pk>/", planning_api.SeriesDetailApi.as_view(), name="api-series"),
    path("dispatchers/", dispatchers_api.DispatcherListApi.as_view(), name="api-dispatchers"),
]
