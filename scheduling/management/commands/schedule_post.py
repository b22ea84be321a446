from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from psched.lib.db import db_now
from scheduling.queue import queued_post_create, slot_describe
from scheduling.rules import schedule_input_clean
from scheduling.selectors import users_by_username
from scheduling.services import scheduled_posts_create


def validation_lines(error: ValidationError) -> str:
    return "\n".join(f"  {field}: {' '.join(messages)}" for field, messages in error.message_dict.items())


class Command(BaseCommand):
    help = "Schedules TEXT for USER at TIME (or in USER's next free queue slot), with the same checks as the API."

    def add_arguments(self, parser):
        parser.add_argument("text", help="the post (quote it)")
        parser.add_argument("--author", required=True, help="username of the author")
        when = parser.add_mutually_exclusive_group(required=True)
        when.add_argument(
            "--at", dest="publish_at",
            help="ISO 8601 with an offset (2031-07-01T09:00:00+02:00, …Z), or a local time with --timezone",
        )
        when.add_argument("--queue", action="store_true", help="put it in the author's next free queue slot")
        parser.add_argument("--timezone", default=None, help="IANA zone of a local --at, e.g. Europe/Paris")

    def handle(self, *args, text, author, publish_at, timezone, queue, **options):
        user = users_by_username(usernames=[author]).get(author)
        problems = [] if user else [f"  author: no user named {author!r}."]
        if queue:
            return self.enqueue(user, text, problems)
        try:
            item = schedule_input_clean(text=text, publish_at=publish_at, timezone_name=timezone, now=db_now())
        except ValidationError as error:
            problems.append(validation_lines(error))
        if problems:
            raise CommandError("Nothing scheduled:\n" + "\n".join(problems))
        post = scheduled_posts_create(author=user, inputs=[item])[0]
        when = f"{post.publish_at:%Y-%m-%d %H:%M:%S}Z"
        if post.timezone != "UTC":
            when += f" ({post.publish_at.astimezone(ZoneInfo(post.timezone)):%Y-%m-%d %H:%M:%S} {post.timezone})"
        node = post.dispatcher.name if post.dispatcher else "none yet: no node is active"
        self.stdout.write(f"Scheduled post #{post.pk} by {author} for {when}, on dispatcher node {node}.")
        if item.when.note:
            self.stdout.write(item.when.note)

    def enqueue(self, user, text, problems):
        if problems:
            raise CommandError("Nothing queued:\n" + "\n".join(problems))
        try:
            post = queued_post_create(author=user, text=text)
        except ValidationError as error:
            raise CommandError("Nothing queued:\n" + validation_lines(error)) from None
        node = post.dispatcher.name if post.dispatcher else "none yet: no node is active"
        self.stdout.write(
            f"Queued post #{post.pk} by {user.username} for {slot_describe(instant=post.publish_at, zone_name=post.timezone)} "
            f"({post.publish_at:%Y-%m-%d %H:%M:%S}Z), on dispatcher node {node}."
        )
