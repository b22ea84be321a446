from django import forms
from django.conf import settings


class PostTextField(forms.CharField):
    """The text of a post, the same on every form that writes one (compose, edit, duplicate,
    series). It sets no maxlength: the browser would cut a paste silently. The page's counter
    (feed/_text_field.html, site.js) says how far over the limit the text is, and the services
    check the length after trimming."""

    def __init__(self, **kwargs):
        self.limit = settings.PSCHED_MAX_POST_LENGTH
        kwargs.setdefault("label", "Text")
        super().__init__(
            widget=forms.Textarea(attrs={"rows": 3, "data-counter": "true"}), strip=False, required=False, **kwargs
        )


class ComposeForm(forms.Form):
    """One form, two actions: "Post now" (feed) uses only the text; "Schedule" (scheduling's
    ScheduleComposeForm) also a local date-time and a zone. The rules live in the services."""

    text = PostTextField(label="What's happening?")
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
