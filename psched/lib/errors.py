class Conflict(Exception):
    """The object is in a state that does not allow the change (HTTP 409, `{"detail"}`).
    Services raise it; the API's exception handler and the pages turn it into an answer."""
