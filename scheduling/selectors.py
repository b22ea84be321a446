from .models import ScheduledPost


def scheduled_posts_visible(*, user, author_username: str | None = None, status: str | None = None):
    """A user sees their own scheduled posts; staff see everyone's (`author` narrows it)."""
    posts = ScheduledPost.objects.select_related("author", "dispatcher", "post")
    if not user.is_staff:
        posts = posts.filter(author=user)
    elif author_username:
        posts = posts.filter(author__username=author_username)
    if status:
        posts = posts.filter(status=status)
    return posts
