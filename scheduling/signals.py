"""What scheduling tells the apps above it. scheduling never imports them; they connect in
their AppConfig.ready() (see docs/architecture.md)."""
from django.dispatch import Signal

# Sent inside the creating transaction with sender=ScheduledPost and scheduled_posts=[...]
# (saved, pending). dispatchers routes each post to a node here; a receiver that raises
# rolls the creation back.
scheduled_posts_created = Signal()
