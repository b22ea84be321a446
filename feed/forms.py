from django import forms
from django.conf import settings


class ComposeForm(forms.Form):
    """One form, two actions: "Post now" uses only the text; "Schedule" also a local date-time
    and a zone. The rules themselves live in the services."""

    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": settings.PSCHED_MAX_POST_LENGTH, "data-counter": "true"}),
        strip=False,
        required=False,
    )
    publish_at = forms.CharField(
        label="Publish at", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"})
    )
    timezone = forms.CharField(label="Time zone", required=False, widget=forms.TextInput(attrs={"list": "zones"}))
