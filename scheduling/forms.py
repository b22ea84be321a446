from django import forms

from feed.forms import ComposeForm, PostTextField


class ScheduledPostForm(forms.Form):
    """Editing a scheduled post: its text, and a local date-time in an IANA zone. The service
    validates both and says what is wrong."""

    text = PostTextField()
    publish_at = forms.CharField(
        label="Publish at (local time)", widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
        required=False,  # a draft may stay without one
    )
    timezone = forms.CharField(
        label="Time zone", help_text="An IANA zone such as Europe/Paris.",
        widget=forms.TextInput(attrs={"list": "zones", "autocomplete": "off"}),
        error_messages={"required": "Give an IANA time zone such as Europe/Paris."},
    )
    # Set by the button that was pressed: save (schedule at the time), draft, queue.
    action = forms.ChoiceField(
        choices=[("save", "Save"), ("draft", "Save draft"), ("queue", "Add to queue")], required=False
    )
    # An occurrence of a series: only this one, or this and the following ones.
    scope = forms.ChoiceField(
        choices=[("this", "Only this one"), ("following", "This and the following ones")], required=False,
        widget=forms.RadioSelect, initial="this",
    )

    def clean(self):
        data = super().clean()
        if data.get("action") in ("", "save") and not data.get("publish_at"):
            self.add_error("publish_at", "Pick the date and time to publish at.")
        return data


WEEKDAY_CHOICES = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"), (5, "Saturday"), (6, "Sunday")]
RRULE_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


class QueueSlotForm(forms.Form):
    weekday = forms.TypedChoiceField(choices=WEEKDAY_CHOICES, coerce=int)
    time = forms.CharField(
        widget=forms.TimeInput(attrs={"type": "time", "step": "1"}),
        help_text="Local time in your zone; HH:MM (seconds allowed).",
        error_messages={"required": "Pick a time, e.g. 09:00."},
    )
    # The zone the queue page showed the form in (kept on a profile that has none).
    timezone = forms.CharField(required=False, widget=forms.HiddenInput)


class SeriesForm(forms.Form):
    """The common repetitions as choices, turned into an RRULE; "custom" takes a raw RRULE.
    The service validates the rule and says what is wrong."""

    REPEATS = [
        ("daily", "Every day"),
        ("weekdays", "Every weekday (Monday to Friday)"),
        ("weekly", "Weekly, on the days ticked below"),
        ("monthly_date", "Monthly, on the start's day of the month"),
        ("monthly_last", "Monthly, on the last of the start's weekday (e.g. the last Friday)"),
        ("custom", "Custom RRULE"),
    ]
    ENDS = [("count", "after a number of times"), ("until", "on a date"), ("never", "never")]

    text = PostTextField()
    start = forms.CharField(
        label="First time (local)", widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
        error_messages={"required": "Pick the date and time of the first post."},
    )
    timezone = forms.CharField(
        label="Time zone", help_text="An IANA zone such as Europe/Paris; posts keep this wall-clock time across DST.",
        widget=forms.TextInput(attrs={"list": "zones", "autocomplete": "off", "data-browser-zone": "true"}),
        error_messages={"required": "Give an IANA time zone such as Europe/Paris."},
    )
    repeat = forms.ChoiceField(choices=REPEATS, initial="weekly", widget=forms.RadioSelect)
    days = forms.MultipleChoiceField(
        label="Days", choices=list(zip(RRULE_DAYS, [name for _, name in WEEKDAY_CHOICES])), required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    end = forms.ChoiceField(label="Ends", choices=ENDS, initial="count", widget=forms.RadioSelect)
    count = forms.IntegerField(label="Times", min_value=1, max_value=10000, required=False, initial=10)
    until = forms.DateField(label="Last date", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    rrule = forms.CharField(
        label="RRULE", required=False, help_text="RFC 5545, e.g. FREQ=MONTHLY;BYDAY=-1FR;COUNT=6 (for Custom).",
    )

    def clean(self):
        data = super().clean()
        repeat, end = data.get("repeat"), data.get("end")
        if repeat == "custom":
            if not data.get("rrule"):
                self.add_error("rrule", "Write the RRULE, or pick one of the repetitions above.")
            return data
        if repeat == "weekly" and not data.get("days"):
            self.add_error("days", "Tick at least one day.")
        if end == "count" and not data.get("count"):
            self.add_error("count", "Give how many times.")
        if end == "until" and not data.get("until"):
            self.add_error("until", "Pick the last date.")
        return data

    def rrule_text(self, start_weekday: int | None, start_day: int | None) -> str:
        """The RRULE the choices mean; start_weekday/start_day come from the start."""
        data = self.cleaned_data
        repeat = data["repeat"]
        if repeat == "custom":
            return data["rrule"]
        parts = {
            "daily": ["FREQ=DAILY"],
            "weekdays": ["FREQ=WEEKLY", "BYDAY=MO,TU,WE,TH,FR"],
            "weekly": ["FREQ=WEEKLY", "BYDAY=" + ",".join(d for d in RRULE_DAYS if d in data.get("days", []))],
            "monthly_date": ["FREQ=MONTHLY"] + ([f"BYMONTHDAY={start_day}"] if start_day else []),
            "monthly_last": ["FREQ=MONTHLY"] + ([f"BYDAY=-1{RRULE_DAYS[start_weekday]}"] if start_weekday is not None else []),
        }[repeat]
        if data["end"] == "count":
            parts.append(f"COUNT={data['count']}")
        elif data["end"] == "until":
            parts.append(f"UNTIL={data['until']:%Y%m%d}T235959")
        return ";".join(parts)


class SeriesEditForm(forms.Form):
    text = PostTextField()
    rrule = forms.CharField(label="RRULE", help_text="RFC 5545; a new rule replaces the occurrences not yet published.")


class ScheduleComposeForm(ComposeForm):
    """The feed's compose form, sent by its "Schedule" button: a time is needed."""

    def clean(self):
        data = super().clean()
        if not data.get("publish_at"):
            self.add_error("publish_at", "Pick the date and time to publish at.")
        return data


class PlanComposeForm(ComposeForm):
    """The feed's compose form, sent by its "Save draft" or "Add to queue" button: only the
    text (and the zone, kept with a draft) counts."""

    action = forms.ChoiceField(choices=[("draft", "Save draft"), ("queue", "Add to queue")], required=False)


def compose_extras(request) -> dict | None:
    """A form's choices for the apps above: the destinations ticked ("Also send to", which a
    form shows with `destinations_shown` when the user has any destinations). None when the
    form did not show them: the post gets its author's default set (a series' occurrences, the
    series' choice)."""
    if not request.POST.get("destinations_shown"):
        return None
    return {"destinations": [int(value) for value in request.POST.getlist("destinations") if value.isdigit()]}


def api_extras(values: dict) -> dict | None:
    """An API body's fields for the apps above (the destinations), as compose_extras gives a
    form's. None when it has none: the post gets its author's default set (a series'
    occurrences, the series' choice; a draft, the choice it was saved with)."""
    if "destinations" not in values:
        return None
    return {"destinations": values["destinations"]}
