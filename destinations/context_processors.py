from django.utils.functional import SimpleLazyObject

from .selectors import delivery_problems


def delivery_notice(request):
    """`delivery_problems`: failed deliveries and disabled destinations of the viewer, counted
    only if the page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"delivery_problems": 0}
    return {"delivery_problems": SimpleLazyObject(lambda: delivery_problems(user=user))}
