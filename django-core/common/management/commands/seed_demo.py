from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_create, user_email_mark_verified
from projects.models import Role
from projects.services import invite_accept, invite_create, project_create
from tasks.services import comment_create, task_create

DEMO_PASSWORD = "taskflow-demo"  # noqa: S105 (development demo data only)
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "taskflow-admin"  # noqa: S105 (development demo data only)


class Command(BaseCommand):
    help = "Creates demo data (two users, a project, tasks with deadlines, a staff admin). Idempotent."

    def handle(self, *args: object, **options: object) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("Demo data is for development machines only (DJANGO_ENV=production).")
        if User.objects.filter(email="ada@example.com").exists():
            self.stdout.write("==> Demo data present (ada@example.com, bob@example.com)")
            return
        now = timezone.now()
        with transaction.atomic():
            if not User.objects.filter(email=ADMIN_EMAIL).exists():
                User.objects.create_superuser(ADMIN_EMAIL, ADMIN_PASSWORD, name="Admin")
            ada = user_create(email="ada@example.com", password=DEMO_PASSWORD, name="Ada Lovelace")
            bob = user_create(email="bob@example.com", password=DEMO_PASSWORD, name="Bob Kowalski", language="ru")
            # Demo addresses receive no mail: they count as verified (their verification mails,
            # enqueued by user_create, are skipped for that reason).
            for demo_user in (ada, bob):
                user_email_mark_verified(user=demo_user)
            project = project_create(
                actor=ada,
                name="Apollo launch",
                description="Everything to get the launch out of the door.",
                translations={"name_ru": "Запуск Аполлона", "description_ru": "Всё для запуска."},
            )
            invite = invite_create(project=project, actor=ada, email=bob.email, role=Role.MEMBER).invite
            invite_accept(invite=invite, user=bob)
            task_create(
                actor=ada,
                project=project,
                title="Write the launch checklist",
                priority="high",
                assignee=bob,
                deadline=now + timedelta(hours=20),
                translations={"title_ru": "Составить чеклист запуска"},
            )
            review = task_create(
                actor=ada,
                project=project,
                title="Review the landing page",
                status="review",
                assignee=ada,
                deadline=now + timedelta(days=3),
            )
            task_create(
                actor=bob, project=project, title="Book the venue", priority="urgent", deadline=now - timedelta(hours=2)
            )
            task_create(actor=ada, project=project, title="Draft the press release", priority="low")
            comment_create(task=review, author=bob, body="Looks good, two typos on the pricing section.")
        self.stdout.write(self.style.SUCCESS("==> Demo data created: ada@example.com and bob@example.com"))
