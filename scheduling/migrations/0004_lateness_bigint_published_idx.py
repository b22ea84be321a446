from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('dispatchers', '0002_node_last_tick_ms'),
        ('scheduling', '0003_series_materialize_task'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='scheduledpost',
            name='lateness_ms',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='scheduledpost',
            index=models.Index(fields=['status', 'published_at', 'dispatcher', 'lateness_ms'], name='sched_published_idx'),
        ),
    ]
