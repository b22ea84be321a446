from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from psched.lib.timing import timing_gc_watch
from psched.startup import heap_freeze, settings_load

settings_load()
application = get_wsgi_application()
get_resolver().url_patterns  # imports every view now, so that heap_freeze takes them too
heap_freeze()
timing_gc_watch()
