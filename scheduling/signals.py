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

# Sent when an edit changes a post's text, before it is saved: sender=ScheduledPost,
# scheduled_post (its id and author), text (the new one). A receiver that raises
# ValidationError refuses the edit (destinations: a text too long for a chosen destination).
scheduled_post_text_changing = Signal()

# Sent after new posts' INSERT, in the same transaction, when a receiver of
# scheduled_posts_creating answered True for them (it has rows of its own to write for the
# posts, which now have ids): sender=ScheduledPost, scheduled_posts=[...]. Each post carries
# `extras`, the request's fields that scheduling does not read itself (e.g. destinations).
scheduled_posts_created = Signal()

# Sent after new drafts' INSERT (the compose form's Save draft, the API's draft, an import), in
# the same transaction: sender=ScheduledPost, scheduled_posts=[...], each with `extras` as for
# scheduled_posts_creating. destinations keeps each draft's choice (the one asked for, else its
# author's default set as it is now), which the draft is scheduled with later unless that asks
# for another; a receiver that raises ValidationError refuses the drafts.
drafts_created = Signal()

# Sent inside the publishing transaction, after the feed's posts are inserted:
# sender=ScheduledPost, published={scheduled post id: Post id}, node, now (the database clock).
# destinations writes each post's outbox rows here, so a post is never published without them;
# a receiver that raises rolls the publishing back.
scheduled_posts_published = Signal()

# Scheduled posts as the API answers them, extended by the apps above: each receiver returns
# {scheduled post id: {field: value}} for scheduled_posts=[...] (one query for all of them).
scheduled_posts_serializing = Signal()

# Sent inside an edit's transaction, the post locked, when the request carried fields for the
# apps above: sender=ScheduledPost, scheduled_post, extras (e.g. {"destinations": [...]}).
# destinations replaces the post's choices; a receiver that raises ValidationError refuses the edit.
scheduled_post_extras_changing = Signal()

# Sent inside a series' create or edit transaction, the series locked and holding its new
# text, before its occurrences are made or changed, when the request carried fields for the
# apps above: sender=Series, series, extras (e.g. {"destinations": [...]}). destinations keeps
# the series' choice for the occurrences it makes and gives it to those it still governs; a
# receiver that raises ValidationError refuses the change.
series_extras_changing = Signal()

# Series as their pages and the API show them, extended by the apps above: each receiver
# returns {series id: {field: value}} for series=[...] (destinations: "destinations").
series_serializing = Signal()
