from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from rest_framework.authentication import SessionAuthentication

from accounts.api import TokenApi
from accounts.authentication import TokenAuthentication
from destinations import api as destinations_api
from dispatchers import api as dispatchers_api
from dispatchers.authentication import NodeCredentialAuthentication
from feed import api as feed_api
from psched.lib.api import one_or_many, view_by_auth_scheme, view_by_body_flag, view_by_method
from scheduling import api as scheduling_api
from scheduling import planning_api

from .views import api_root


@extend_schema_view(post=extend_schema(
    request=one_or_many("PostOrClaims", feed_api.PostCreateApi.PostInputSerializer, dispatchers_api.ClaimInputSerializer(many=True)),
    responses={201: one_or_many("PostOrPosts", feed_api.PostOutputSerializer, feed_api.PostOutputSerializer(many=True))},
    description="A user sends `{\"text\"}` and the post is published now. A dispatcher node (`Authorization: Node …`) "
                "sends a list of its claims and gets a list back: a Post each, or `{scheduled_post, error}`.",
))
class PostsCreateApi(feed_api.PostCreateApi):
    """POST `{"text"}` publishes now. A dispatcher node POSTs a list of its claims; each gets
    its Post, or an error."""

    # Documented with both bodies the URL takes; a node's POST is served by
    # dispatchers.api.NodePublishApi (chosen below by the Authorization scheme).
    authentication_classes = [TokenAuthentication, NodeCredentialAuthentication, SessionAuthentication]


class PostsListApi(feed_api.PostListApi):
    # A node credential on a GET of the feed is checked too.
    authentication_classes = PostsCreateApi.authentication_classes


# One view per operation; this is where a URL's methods meet (psched.lib.api.view_by_method).
posts = view_by_method(
    GET=PostsListApi.as_view(),
    POST=view_by_auth_scheme(PostsCreateApi.as_view(), method="POST", Node=dispatchers_api.NodePublishApi.as_view()),
)
scheduled_posts = view_by_method(
    GET=scheduling_api.ScheduledPostListApi.as_view(),
    # A body with "queue" or "draft" is a queued post or a draft; the schema documents the
    # scheduling body (api.md: the other two).
    POST=view_by_body_flag(
        scheduling_api.ScheduledPostCreateApi.as_view(), method="POST",
        queue=scheduling_api.QueuedPostCreateApi.as_view(), draft=scheduling_api.DraftCreateApi.as_view(),
        unset=scheduling_api.DraftCreateApi.as_view(),  # "draft"/"queue" false: answers what is missing
    ),
)
scheduled_post = view_by_method(
    GET=scheduling_api.ScheduledPostDetailApi.as_view(),
    # `"queue": true` puts the post in the next free slot; the schema documents the edit's body.
    PATCH=view_by_body_flag(
        scheduling_api.ScheduledPostUpdateApi.as_view(), method="PATCH", queue=scheduling_api.ScheduledPostEnqueueApi.as_view()
    ),
    DELETE=scheduling_api.ScheduledPostCancelApi.as_view(),
)
queue_slots = view_by_method(
    GET=planning_api.QueueSlotsListApi.as_view(), PUT=planning_api.QueueSlotsReplaceApi.as_view()
)
series_list = view_by_method(GET=planning_api.SeriesListApi.as_view(), POST=planning_api.SeriesCreateApi.as_view())
series = view_by_method(
    GET=planning_api.SeriesDetailApi.as_view(),
    PATCH=planning_api.SeriesUpdateApi.as_view(),
    DELETE=planning_api.SeriesStopApi.as_view(),
)
series_occurrence = view_by_method(
    PATCH=planning_api.SeriesOccurrenceUpdateApi.as_view(), DELETE=planning_api.SeriesOccurrenceSkipApi.as_view()
)
destinations = view_by_method(
    GET=destinations_api.DestinationListApi.as_view(), POST=destinations_api.DestinationCreateApi.as_view()
)
destination = view_by_method(
    GET=destinations_api.DestinationDetailApi.as_view(),
    PATCH=destinations_api.DestinationUpdateApi.as_view(),
    DELETE=destinations_api.DestinationDeleteApi.as_view(),
)

urlpatterns = [
    path("", api_root, name="api-root"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("auth/token/", TokenApi.as_view(), name="api-token"),
    path("posts/", posts, name="api-posts"),
    path("posts/<int:pk>/", feed_api.PostDetailApi.as_view(), name="api-post"),
    path("scheduled-posts/", scheduled_posts, name="api-scheduled-posts"),
    path("scheduled-posts/<int:pk>/", scheduled_post, name="api-scheduled-post"),
    path("scheduled-posts/<int:pk>/retry/", scheduling_api.ScheduledPostRetryApi.as_view(), name="api-scheduled-post-retry"),
    path("queue/", planning_api.QueueListApi.as_view(), name="api-queue"),
    path("queue/slots/", queue_slots, name="api-queue-slots"),
    path("queue/<int:pk>/move/", planning_api.QueueMoveApi.as_view(), name="api-queue-move"),
    path("queue/<int:pk>/share-now/", planning_api.QueueShareNowApi.as_view(), name="api-queue-share-now"),
    path("series/", series_list, name="api-series-list"),
    path("series/<int:pk>/", series, name="api-series"),
    path("series/<int:pk>/occurrences/<int:index>/", series_occurrence, name="api-series-occurrence"),
    path("series/<int:pk>/occurrences/<int:index>/restore/", planning_api.SeriesOccurrenceRestoreApi.as_view(),
         name="api-series-occurrence-restore"),
    path("destinations/", destinations, name="api-destinations"),
    path("destinations/<int:pk>/", destination, name="api-destination"),
    path("destinations/<int:pk>/test/", destinations_api.DestinationTestApi.as_view(), name="api-destination-test"),
    path(
        "destinations/<int:pk>/rotate-secret/", destinations_api.DestinationRotateSecretApi.as_view(),
        name="api-destination-rotate-secret",
    ),
    path("deliveries/<int:pk>/retry/", destinations_api.DeliveryRetryApi.as_view(), name="api-delivery-retry"),
    path("dispatchers/", dispatchers_api.DispatcherListApi.as_view(), name="api-dispatchers"),
]
