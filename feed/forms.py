from django import forms
from django.conf import settings


class ComposeForm(forms.Form):
    """One form, two actions: "Post now" (feed) uses only the text; "Schedule" (scheduling's
    ScheduleComposeForm) also a local date-time and a zone. The rules live in the services."""

    text = forms.CharField(
        label="What's happening?",
        # No maxlength: it would cut a paste silently; the counter says how far over the text is.
        widget=forms.Textarea(attrs={"rows": 3, "data-counter": "true"}),
        strip=False,
        required=False,
    )
    max_length = settings.PSCHED_MAX_POST_LENGTH
    publish_at = forms.CharField(
        label="Publish at", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"})
    )
    timezone = forms.CharField(
        label="Time zone",
        required=False,
        help_text="An IANA zone such as Europe/Paris; empty means UTC.",
        widget=forms.TextInput(attrs={"list": "zones", "autocomplete": "off", "data-browser-zone": "true"}),
    )
    # Set by the button that was pressed.
    action = forms.ChoiceField(choices=[("now", "Post now"), ("schedule", "Schedule")], required=False)
