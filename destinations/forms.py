from django import forms


class WebhookForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="For you: e.g. “my blog”.")
    url = forms.CharField(max_length=1000, label="URL", help_text="https:// address that receives the webhooks.")
    is_default = forms.BooleanField(
        required=False, label="Send every new post here", help_text="Posts you schedule without choosing go here too."
    )
