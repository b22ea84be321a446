"""Drafts keep their destinations from the moment they are saved (drafts_created). Drafts saved
before got their author's default set only when scheduled: give them that set now, so that
scheduling them later sends them where it would have."""
from django.db import migrations


def drafts_default_sets(apps, schema_editor):
    ScheduledPost = apps.get_model("scheduling", "ScheduledPost")
    Destination = apps.get_model("destinations", "Destination")
    Selection = apps.get_model("destinations", "Selection")
    defaults = {}
    for pk, owner_id in Destination.objects.filter(is_default=True, state="active").values_list("pk", "owner_id"):
        defaults.setdefault(owner_id, []).append(pk)
    if not defaults:
        return
    chosen = set(Selection.objects.filter(scheduled_post__status="draft").values_list("scheduled_post_id", flat=True))
    drafts = ScheduledPost.objects.filter(status="draft", author_id__in=list(defaults)).values_list("pk", "author_id")
    Selection.objects.bulk_create([
        Selection(scheduled_post_id=pk, destination_id=destination_id)
        for pk, author_id in drafts.iterator() if pk not in chosen for destination_id in defaults[author_id]
    ], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("destinations", "0004_series_choice"),
        ("scheduling", "0006_series_occurrences"),
    ]

    operations = [
        migrations.RunPython(drafts_default_sets, migrations.RunPython.noop),
    ]
