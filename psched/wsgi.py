from django.core.wsgi import get_wsgi_application

from psched.startup import settings_load

settings_load()
application = get_wsgi_application()
