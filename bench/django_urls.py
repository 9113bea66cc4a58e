"""The project's URLs plus bare views: the same work with no DRF, the ceilings benchmarks print
next to the real endpoints. They exist only under bench.django_settings.

`/bench/bare/tasks` is the ceiling for `GET /api/tasks` and `POST /api/tasks` (bench.django_api):
the same middleware, the same queries (membership subquery, COUNT, one page of 50 in the same
order, the membership check before an insert), but the token is checked with PyJWT against a key
parsed once, rows come from `.values()` and go out through `JsonResponse` — no authentication
classes, serializers, filtersets, paginator or services (and no user lookup: a stricter ceiling).

`/api/bench/bare/me` and `/api/bench/bare/project-tasks?project=` are the ceilings for single
requests (bench.request_latency): each does exactly the queries of `GET /api/users/me` and `GET
/api/tasks?project=` — the signed-in user's row (with the active and password-digest checks the
real authentication makes), then for the list the COUNT and, when there is anything, the page.
They are under /api/ because the gateway routes only /api (and /admin, /static) to django-core;
`/api/bench/bare/tasks` is `/bench/bare/tasks` there.
"""

import json
from typing import Any

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework_simplejwt.utils import get_md5_hash_password

from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as project_urlpatterns
from projects.models import Membership, Role
from tasks.models import Task, TaskWatcher

PAGE_SIZE = 50

# What TaskSerializer answers, flattened: people come from the same JOINs select_related makes.
TASK_FIELDS = (
    "id",
    "project_id",
    "title",
    "description",
    "title_en",
    "title_ru",
    "description_en",
    "description_ru",
    "status",
    "priority",
    "assignee_id",
    "assignee__name",
    "assignee__email",
    "reporter_id",
    "reporter__name",
    "reporter__email",
    "deadline",
    "is_watching",
    "created_at",
    "updated_at",
    "completed_at",
)
WRITER_ROLES = (Role.OWNER, Role.ADMIN, Role.MEMBER)

_VERIFYING_KEY = load_pem_public_key(settings.SIMPLE_JWT["VERIFYING_KEY"].encode())


def _token_user_id(request: HttpRequest) -> int | None:
    """The user id of a valid access token (signature, expiry, issuer, audience, type)."""
    claims = _access_claims(request)
    return None if claims is None else claims.get("user_id")


def _access_claims(request: HttpRequest) -> dict[str, Any] | None:
    """The claims of a valid access token (signature, expiry, issuer, audience, type)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token:
        return None
    try:
        claims = jwt.decode(
            token,
            _VERIFYING_KEY,  # type: ignore[arg-type]
            algorithms=[settings.SIMPLE_JWT["ALGORITHM"]],
            audience=settings.SIMPLE_JWT["AUDIENCE"],
            issuer=settings.SIMPLE_JWT["ISSUER"],
        )
    except jwt.PyJWTError:
        return None
    if claims.get("token_type") != "access":
        return None
    return claims


def _task_list(request: HttpRequest, user_id: int) -> JsonResponse:
    tasks = Task.objects.filter(
        project_id__in=Membership.objects.filter(user_id=user_id).values("project_id")
    ).annotate(is_watching=Exists(TaskWatcher.objects.filter(task=OuterRef("pk"), user_id=user_id)))
    count = tasks.count()
    page = list(tasks.order_by("-created_at", "-id").values(*TASK_FIELDS)[:PAGE_SIZE])
    return JsonResponse({"count": count, "results": page})


def _task_create(request: HttpRequest, user_id: int) -> JsonResponse:
    try:
        data: dict[str, Any] = json.loads(request.body)
        project_id = int(data["project"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"detail": "bad request"}, status=400)
    role = Membership.objects.filter(project_id=project_id, user_id=user_id).values_list("role", flat=True).first()
    if role not in WRITER_ROLES:
        return JsonResponse({"project": ["No such project among yours."]}, status=400)
    task = Task.objects.create(
        project_id=project_id,
        title=data.get("title", ""),
        description=data.get("description", ""),
        priority=data.get("priority", "medium"),
        deadline=data.get("deadline"),
        reporter_id=user_id,
    )
    return JsonResponse(
        {"id": task.pk, "project": project_id, "title": task.title, "created_at": task.created_at}, status=201
    )


@csrf_exempt  # bearer tokens, no cookies: as DRF's APIView does
def bare_tasks(request: HttpRequest) -> HttpResponse:
    user_id = _token_user_id(request)
    if user_id is None:
        return JsonResponse({"detail": "not authenticated"}, status=401)
    if request.method == "GET":
        return _task_list(request, user_id)
    if request.method == "POST":
        return _task_create(request, user_id)
    return JsonResponse({"detail": "method not allowed"}, status=405)


USER_SQL = (
    "SELECT id, email, name, language, timezone, telegram_chat_id, email_verified_at, is_active, password "
    "FROM accounts_user WHERE id = %s"
)


def _signed_in(request: HttpRequest) -> dict[str, Any] | None:
    """The token's user as the real authentication checks it (exists, active, the token's
    password digest is the current password's), read with one query."""
    claims = _access_claims(request)
    if claims is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(USER_SQL, [claims.get("user_id")])
        row = cursor.fetchone()
    if row is None or not row[7] or claims.get("hash_password") != get_md5_hash_password(row[8]):
        return None
    return dict(
        zip(
            ("id", "email", "name", "language", "timezone", "telegram_chat_id", "email_verified_at"),
            row[:7],
            strict=True,
        )
    )


def bare_me(request: HttpRequest) -> HttpResponse:
    user = _signed_in(request)
    if user is None:
        return JsonResponse({"detail": "not authenticated"}, status=401)
    chat_id, verified_at = user.pop("telegram_chat_id"), user.pop("email_verified_at")
    return JsonResponse({**user, "telegram_linked": chat_id is not None, "email_verified": verified_at is not None})


def bare_project_tasks(request: HttpRequest) -> HttpResponse:
    user = _signed_in(request)
    if user is None:
        return JsonResponse({"detail": "not authenticated"}, status=401)
    try:
        project_id = int(request.GET["project"])
    except (KeyError, ValueError):
        return JsonResponse({"project": ["a number"]}, status=400)
    tasks = Task.objects.filter(
        project_id__in=Membership.objects.filter(user_id=user["id"]).values("project_id"), project_id=project_id
    ).annotate(is_watching=Exists(TaskWatcher.objects.filter(task=OuterRef("pk"), user_id=user["id"])))
    count = tasks.count()
    page = list(tasks.order_by("-created_at", "-id").values(*TASK_FIELDS)[:PAGE_SIZE]) if count else []
    return JsonResponse({"count": count, "next": None, "previous": None, "results": page})


urlpatterns = [
    path("bench/bare/tasks", bare_tasks, name="bench-bare-tasks"),
    # Under /api/ too: the gateway routes only /api (and /admin, /static) to django-core.
    path("api/bench/bare/tasks", bare_tasks),
    path("api/bench/bare/me", bare_me, name="bench-bare-me"),
    path("api/bench/bare/project-tasks", bare_project_tasks, name="bench-bare-project-tasks"),
    *project_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
