"""What scheduling tells the apps above it. scheduling never imports them; they connect in
their AppConfig.ready() (see docs/architecture.md)."""
from django.dispatch import Signal

# Sent before new scheduled posts are inserted, with sender=ScheduledPost,
# scheduled_posts=[...] (unsaved, pending) and fresh (True: read nothing from a cache).
# dispatchers sets each post's node here, so that it is inserted already routed; a receiver
# that raises stops the creation. Sent again with fresh=True when the INSERT failed a foreign
# key, since a cached read may name a row deleted since.
scheduled_posts_creating = Signal()
