"""What the feed tells the apps above it. feed never imports them; they connect in their
AppConfig.ready() (see docs/architecture.md)."""
from django.dispatch import Signal

# Sent by the feed's pages for the posts they show: sender=Post, posts=[...], request.
# Each receiver returns {post id: markup} (safe HTML it rendered and escaped itself), shown
# under the post's receipt; e.g. destinations shows the post's deliveries to its author.
posts_rendering = Signal()
