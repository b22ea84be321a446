from django import forms
from django.contrib.auth.forms import UserCreationForm

from scheduling.timeparse import zone_get


class SignupForm(UserCreationForm):
    pass


class ProfileForm(forms.Form):
    timezone = forms.CharField(max_length=64, required=False, widget=forms.TextInput(attrs={"list": "zones"}))

    def clean_timezone(self):
        value = self.cleaned_data["timezone"].strip()
        if value:
            zone_get(value)  # raises ValidationError with the reason
        return value



