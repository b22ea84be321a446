from django.core.exceptions import ValidationError


def add_service_errors(form, error: ValidationError) -> None:
    """Puts a service's ValidationError next to the fields it names (inline on the page); what
    names no field of the form goes above it. The pages' one counterpart of the API's
    exception handler."""
    by_field = error.message_dict.items() if hasattr(error, "error_dict") else [(None, error.messages)]
    for field, messages in by_field:
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
