from django import forms
from django.contrib.auth.forms import UserCreationForm

from psched.lib.timeparse import zone_get


class SignupForm(UserCreationForm):
    def validate_password_for_user(self, user, password_field_name="password1"):
        # A weak password is a fault of the password field, not of its confirmation.
        super().validate_password_for_user(user, password_field_name="password1")


class ProfileForm(forms.Form):
    timezone = forms.CharField(
        label="Your time zone",
        max_length=64,
        required=False,
        help_text="An IANA zone such as Europe/Paris. Your pages show times in it, and the schedule form starts with it. Empty means UTC.",
        widget=forms.TextInput(attrs={"list": "zones", "autocomplete": "off"}),
    )

    def clean_timezone(self):
        value = self.cleaned_data["timezone"].strip()
        if value:
            zone_get(value)  # raises ValidationError with the reason
        return value
