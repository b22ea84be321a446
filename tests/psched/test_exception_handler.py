from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIRequestFactory

from psched.lib.api import exception_handler
from psched.lib.errors import Conflict
from scheduling.models import ScheduledPost
from scheduling.services import scheduled_post_create


def answer(error):
    return exception_handler(error, {"request": APIRequestFactory().get("/"), "view": None})


def test_it_names_the_fields_of_a_validation_error():
    response = answer(ValidationError({"publish_at": ["In the past."]}))
    assert (response.status_code, response.data) == (400, {"publish_at": ["In the past."]})


def test_it_puts_a_validation_error_without_field_under_non_field_errors():
    response = answer(ValidationError("Wrong."))
    assert (response.status_code, response.data) == (400, {"non_field_errors": ["Wrong."]})


def test_it_answers_a_conflict_with_409():
    response = answer(Conflict("This post is published; it can no longer be changed."))
    assert (response.status_code, response.data) == (409, {"detail": "This post is published; it can no longer be changed."})


def test_it_names_the_missing_model_in_a_404(db):
    response = answer(ScheduledPost.DoesNotExist("ScheduledPost matching query does not exist."))
    assert (response.status_code, response.data) == (404, {"detail": "No such scheduled post."})


def test_it_refuses_another_users_post_with_404(api, alice, bob):
    post = scheduled_post_create(author=bob, text="bob's", publish_at=timezone.now() + timedelta(hours=1))
    response = api(alice).get(f"/api/scheduled-posts/{post.pk}/")
    assert (response.status_code, response.json()) == (404, {"detail": "No such scheduled post."})
