from django import forms
from django.conf import settings

from feed.forms import ComposeForm


class ScheduledPostForm(forms.Form):
    """Editing a scheduled post: its text, and a local date-time in an IANA zone. The service
    validates both and says what is wrong."""

    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": settings.PSCHED_MAX_POST_LENGTH, "data-counter": "true"}),
        strip=False,
        required=False,
    )
    publish_at = forms.CharField(
        label="Publish at (local time)", widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
        error_messages={"required": "Pick the date and time to publish at."},
    )
    timezone = forms.CharField(
        label="Time zone", help_text="An IANA zone such as Europe/Paris.",
        widget=forms.TextInput(attrs={"list": "zones", "autocomplete": "off"}),
        error_messages={"required": "Give an IANA time zone such as Europe/Paris."},
    )


class ScheduleComposeForm(ComposeForm):
    """The feed's compose form, sent by its "Schedule" button: a time is needed."""

    def clean(self):
        data = super().clean()
        if not data.get("publish_at"):
            self.add_error("publish_at", "Pick the date and time to publish at.")
        return data
