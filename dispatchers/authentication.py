from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import DispatcherNode


class NodeCredentialAuthentication(authentication.BaseAuthentication):
    """`Authorization: Node <name>:<credential>`. The request's auth is the DispatcherNode;
    there is no user, so a node can only use endpoints that accept a node."""

    keyword = "Node"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace") != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Use 'Authorization: Node <name>:<credential>'.")
        name, _, secret = parts[1].decode(errors="replace").partition(":")
        node = DispatcherNode.objects.filter(name=name).first()
        if node is None or not secret or not node.credential_matches(secret):
            # 403, not 401: the caller presented a node credential and it is refused for good
            # (wrong, revoked, or the node was removed); asking again with it will not help.
            raise exceptions.PermissionDenied("Unknown node or revoked credential.")
        return AnonymousUser(), node

    def authenticate_header(self, request):
        return self.keyword


def request_node(request) -> DispatcherNode | None:
    return request.auth if isinstance(request.auth, DispatcherNode) else None


class NodeCredentialScheme(OpenApiAuthenticationExtension):
    target_class = NodeCredentialAuthentication
    name = "nodeCredential"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "Dispatcher nodes only: `Node <name>:<credential>`."}
