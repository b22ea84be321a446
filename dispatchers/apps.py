from django.apps import AppConfig


class DispatchersConfig(AppConfig):
    name = "dispatchers"
