import os

from django.core.wsgi import get_wsgi_application

# Forced: bench/run.py's own environment names psched's settings.
os.environ["DJANGO_SETTINGS_MODULE"] = "floor.settings"
application = get_wsgi_application()
