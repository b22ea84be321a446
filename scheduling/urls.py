from django.urls import path

from . import planning_views, views

app_name = "scheduling"
urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("scheduled/", views.mine, name="mine"),
    path("scheduled/new/", views.compose, name="compose"),
    path("scheduled/draft/", planning_views.compose_draft, name="compose-draft"),
    path("queue/new/", planning_views.compose_queue, name="compose-queue"),
    path("scheduled/<int:pk>/edit/", views.edit, name="edit"),
    path("scheduled/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("scheduled/<int:pk>/retry/", views.retry, name="retry"),
    path("scheduled/<int:pk>/duplicate/", views.duplicate, name="duplicate"),
    path("scheduled/series/new/", planning_views.series_new, name="series-new"),
    path("scheduled/series/<int:pk>/edit/", planning_views.series_edit, name="series-edit"),
    path("scheduled/series/<int:pk>/stop/", planning_views.series_stop_view, name="series-stop"),
    path("scheduled/series/<int:pk>/occurrences/<int:index>/edit/", planning_views.occurrence_edit, name="occurrence-edit"),
    path("scheduled/series/<int:pk>/occurrences/<int:index>/skip/", planning_views.occurrence_skip_view, name="occurrence-skip"),
    path("scheduled/series/<int:pk>/occurrences/<int:index>/restore/", planning_views.occurrence_restore_view,
         name="occurrence-restore"),
    path("queue/", planning_views.queue_page, name="queue"),
    path("queue/zone/", planning_views.queue_zone_keep, name="queue-zone"),
    path("queue/slots/add/", planning_views.slot_add, name="slot-add"),
    path("queue/slots/<int:slot_id>/remove/", planning_views.slot_remove, name="slot-remove"),
    path("queue/<int:pk>/up/", planning_views.queue_move_view, {"direction": "up"}, name="queue-up"),
    path("queue/<int:pk>/down/", planning_views.queue_move_view, {"direction": "down"}, name="queue-down"),
    path("queue/<int:pk>/share-now/", planning_views.queue_share_now_view, name="queue-share-now"),
]
