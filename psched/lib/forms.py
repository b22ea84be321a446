from django.core.exceptions import ValidationError


def add_service_errors(form, error: ValidationError, default_field: str) -> None:
    """Puts a service's ValidationError next to the fields it names (inline on the page)."""
    by_field = error.message_dict.items() if hasattr(error, "error_dict") else [(default_field, error.messages)]
    for field, messages in by_field:
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
