"""The project's URLs plus `/bench/bare/tasks`: the task list and task creation with no DRF.

The bare views are the ceiling for `GET /api/tasks` and `POST /api/tasks`: the same middleware,
the same queries (membership subquery, COUNT, one page of 50 in the same order, the membership
check before an insert), but the token is checked with PyJWT against a key parsed once, rows come
from `.values()` and go out through `JsonResponse` — no authentication classes, serializers,
filtersets, paginator or services. They exist only under bench.django_settings.
"""

import json
from typing import Any

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

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
    return claims.get("user_id")


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


urlpatterns = [
    path("bench/bare/tasks", bare_tasks, name="bench-bare-tasks"),
    *project_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
