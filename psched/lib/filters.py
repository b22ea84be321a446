"""The template filters every app's pages use, registered once for all templates through the
TEMPLATES option "builtins" (psched/settings/base.py): no {% load %} needed."""
from django import template

from .durations import ago_text, duration_text, relative_text

register = template.Library()
register.filter("duration_ms", duration_text)
register.filter("ago", ago_text)
register.filter("relative", relative_text)
