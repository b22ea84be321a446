from django.utils.functional import SimpleLazyObject

from .selectors import delivery_problems, destinations_choosable


def delivery_notice(request):
    """`delivery_problems`: failed deliveries and disabled destinations of the viewer, counted
    only if the page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"delivery_problems": 0}
    return {"delivery_problems": SimpleLazyObject(lambda: delivery_problems(user=user))}


def compose_destinations(request):
    """`my_destinations`: the viewer's destinations a post can be sent to (the compose form's
    "Also send to"), read only if the page shows them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"my_destinations": []}
    return {"my_destinations": SimpleLazyObject(lambda: destinations_choosable(user=user))}
