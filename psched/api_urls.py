from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularAPIView

from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from accounts.api import TokenApi
from dispatchers import api as dispatchers_api
from dispatchers.authentication import NodeCredentialAuthentication
from feed import api as feed_api
from psched.lib.api import one_or_many, view_by_auth_scheme
from scheduling import api as scheduling_api

from .views import api_root


@extend_schema_view(post=extend_schema(
    request=one_or_many("PostOrClaims", feed_api.PostListApi.PostInputSerializer, dispatchers_api.ClaimInputSerializer(many=True)),
    responses={201: one_or_many("PostOrPosts", feed_api.PostOutputSerializer, feed_api.PostOutputSerializer(many=True))},
    description="A user sends `{\"text\"}` and the post is published now. A dispatcher node (`Authorization: Node …`) "
                "sends a list of its claims and gets a list back: a Post each, or `{scheduled_post, error}`.",
))
class PostsApi(feed_api.PostListApi):
    """The feed, newest first (`?author=<username>`). POST `{"text"}` publishes now.
    A dispatcher node POSTs a list of its claims; each gets its Post, or an error."""

    # The feed's view, documented with both bodies its URL takes; a node's POST is served by
    # dispatchers.api.NodePublishApi (chosen below by the Authorization scheme). A node
    # credential on a GET is checked too, as before.
    authentication_classes = [TokenAuthentication, NodeCredentialAuthentication, SessionAuthentication]


posts = view_by_auth_scheme(PostsApi.as_view(), method="POST", Node=dispatchers_api.NodePublishApi.as_view())

urlpatterns = [
    path("", api_root, name="api-root"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("auth/token/", TokenApi.as_view(), name="api-token"),
    path("posts/", posts, name="api-posts"),
    path("posts/<int:pk>/", feed_api.PostDetailApi.as_view(), name="api-post"),
    path("scheduled-posts/", scheduling_api.ScheduledPostListApi.as_view(), name="api-scheduled-posts"),
    path("scheduled-posts/<int:pk>/", scheduling_api.ScheduledPostDetailApi.as_view(), name="api-scheduled-post"),
    path("scheduled-posts/<int:pk>/retry/", scheduling_api.ScheduledPostRetryApi.as_view(), name="api-scheduled-post-retry"),
    path("dispatchers/", dispatchers_api.DispatcherListApi.as_view(), name="api-dispatchers"),
]
