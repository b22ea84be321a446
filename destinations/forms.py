from django import forms


class WebhookForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="For you: e.g. “my blog”.")
    url = forms.CharField(max_length=1000, label="URL", help_text="https:// address that receives the webhooks.")
    is_default = forms.BooleanField(
        required=False, label="Send every new post here", help_text="Posts you schedule without choosing go here too."
    )


class BlueskyForm(forms.Form):
    prefix = "bluesky"  # on the page beside the webhook form: ids and names of its own
    name = forms.CharField(max_length=100, help_text="For you: e.g. “my Bluesky”.")
    handle = forms.CharField(max_length=253, help_text="Your Bluesky handle, e.g. alice.bsky.social.")
    app_password = forms.CharField(
        max_length=100, label="App password", widget=forms.PasswordInput(render_value=False),
        help_text="Bluesky: Settings, Privacy and security, App passwords. Tried at once, kept encrypted, never shown.",
    )
    pds_url = forms.CharField(
        max_length=1000, label="PDS URL", required=False, initial="https://bsky.social",
        help_text="Where your account lives; https://bsky.social for most accounts.",
    )
    is_default = forms.BooleanField(
        required=False, label="Send every new post here", help_text="Posts you schedule without choosing go here too."
    )


class AppPasswordForm(forms.Form):
    app_password = forms.CharField(max_length=100, label="New app password", widget=forms.PasswordInput(render_value=False))
