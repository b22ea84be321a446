from django.utils.functional import SimpleLazyObject

from .selectors import delivery_problems


def delivery_notice(request):
    """`delivery_problems`: whether the viewer has a delivery that failed for good or a disabled
    destination, asked only if the page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"delivery_problems": False}
    return {"delivery_problems": SimpleLazyObject(lambda: delivery_problems(user=user))}
