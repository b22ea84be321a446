from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from psched.lib.db import db_now

from .models import Post


def post_text_clean(text) -> str:
    """The one rule for post text, shared by posts and scheduled posts. Raises a
    ValidationError that names the field `text`."""
    try:
        return _text_clean(text)
    except ValidationError as error:
        raise ValidationError({"text": error.messages}) from None


def post_text_check(text, *, errors: dict):
    """post_text_clean for a service that reports every bad field at once: returns the clean
    text, or, when it is wrong, puts the messages in errors["text"] and returns text as given."""
    try:
        return post_text_clean(text)
    except ValidationError as error:
        errors.update(error.message_dict)
        return text


def _text_clean(text) -> str:
    if text is None:
        raise ValidationError("This field is required.")
    if not isinstance(text, str):
        raise ValidationError("Text must be a string.")
    text = text.strip()
    if not text:
        raise ValidationError("Write something: the text is empty.")
    limit = settings.PSCHED_MAX_POST_LENGTH
    if len(text) > limit:
        raise ValidationError(f"Text is {len(text)} characters long; the limit is {limit}.")
    if "\x00" in text:
        raise ValidationError("Text must not contain NUL characters.")
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise ValidationError("Text contains an invalid character (a lone surrogate).")
    return text


@transaction.atomic
def post_create(*, author, text: str) -> Post:
    # The database's clock, like every published_at (a web host's clock may be off).
    return Post.objects.create(author=author, text=post_text_clean(text), published_at=db_now())
