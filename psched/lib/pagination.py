from rest_framework.pagination import CursorPagination


class NewestFirstPagination(CursorPagination):
    """Cursor pages by id, newest first: no COUNT and no OFFSET, at any depth."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class PublishAtPagination(NewestFirstPagination):
    ordering = ("publish_at", "id")
