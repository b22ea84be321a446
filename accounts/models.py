from django.conf import settings
from django.db import models


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    timezone = models.CharField(max_length=64, blank=True, help_text="IANA zone, e.g. Europe/Paris.")
    language = models.CharField(
        max_length=35, blank=True,
        help_text="BCP 47 language tag of the user's posts, e.g. en or pt-BR (told to networks that take one, like Bluesky).",
    )

    def __str__(self):
        return f"profile of {self.user}"
