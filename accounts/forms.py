import re

from django import forms
from django.contrib.auth.forms import UserCreationForm

from psched.lib.timeparse import zone_get


class SignupForm(UserCreationForm):
    def validate_password_for_user(self, user, password_field_name="password1"):
        # A weak password is a fault of the password field, not of its confirmation.
        super().validate_password_for_user(user, password_field_name="password1")


# BCP 47's shape: a 2-3 letter language, then subtags (script, region, variant) of 1-8 characters.
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


class ProfileForm(forms.Form):
    timezone = forms.CharField(
        label="Your time zone",
        max_length=64,
        required=False,
        help_text="An IANA zone such as Europe/Paris. Your pages show times in it, and the schedule form starts with it. Empty means UTC.",
        widget=forms.TextInput(attrs={"list": "zones", "autocomplete": "off"}),
    )

    language = forms.CharField(
        label="Language of your posts",
        max_length=35,
        required=False,
        help_text="A language tag such as en, fr or pt-BR. Networks that take one (Bluesky) are told it with each post. Empty means not said.",
    )

    def clean_language(self):
        value = self.cleaned_data["language"].strip()
        if value and not LANGUAGE_TAG.fullmatch(value):
            raise forms.ValidationError("Not a language tag: give a code such as en, fr or pt-BR.")
        return value

    def clean_timezone(self):
        value = self.cleaned_data["timezone"].strip()
        if value:
            zone_get(value)  # raises ValidationError with the reason
        return value
