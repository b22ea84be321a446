from django import template

from psched.lib.durations import duration_text

register = template.Library()
register.filter("duration_ms", duration_text)
