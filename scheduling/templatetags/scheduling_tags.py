from django import template

from psched.lib.durations import duration_text, relative_text

register = template.Library()
register.filter("duration_ms", duration_text)
register.filter("relative", relative_text)
