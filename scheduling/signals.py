"""What scheduling tells the apps above it. scheduling never imports them; they connect in
their AppConfig.ready() (see docs/architecture.md)."""
from django.dispatch import Signal

# Sent before posts become pending: new ones before their INSERT (plain, bulk, imported,
# queued, series occurrences), drafts before the save that schedules them; with
# sender=ScheduledPost, scheduled_posts=[...] and fresh (True: read nothing from a cache).
# dispatchers sets each post's node here, so that it is written already routed; a receiver
# that raises stops the creation. Sent again with fresh=True when the INSERT failed a foreign
# key, since a cached read may name a row deleted since.
scheduled_posts_creating = Signal()
