"""Adding a language is the LANGUAGES setting (plus catalogs and a migration): a settings module
that appends German gets German columns, API fields, user language, search and admin search,
with no other change. Checked in a child process, since translated fields are fixed at start-up."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

PROBE = """
import json
import django

django.setup()

from django.conf import settings
from django.contrib import admin
from django.db.models import Q

from accounts.models import User
from accounts.serializers import RegisterSerializer, UserUpdateSerializer
from projects.models import Project
from tasks.filters import TaskFilter
from tasks.models import Task
from tasks.serializers import TaskCreateSerializer, TaskDetailSerializer, TaskUpdateSerializer

task_columns = {field.name for field in Task._meta.get_fields()}
create = TaskCreateSerializer(data={"project": 1, "title_de": "Den Server reparieren", "description_de": "Er ist aus"})
update = TaskUpdateSerializer(data={"title_de": "Neu"})
me = UserUpdateSerializer(data={"language": "de"})
register = RegisterSerializer(data={"email": "a@example.com", "password": "x" * 12, "name": "A", "language": "de"})
User._meta.get_field("language").clean("de", None)
search = TaskFilter().filter_search(Task.objects.all(), "search", "Server")
print(json.dumps({
    "languages": list(settings.MODELTRANSLATION_LANGUAGES),
    "fallback": list(settings.MODELTRANSLATION_FALLBACK_LANGUAGES["default"]),
    "task_columns": sorted(c for c in task_columns if c.endswith("_de")),
    "project_columns": sorted(f.name for f in Project._meta.get_fields() if f.name.endswith("_de")),
    "create_valid": create.is_valid(),
    "create_data": {k: v for k, v in create.validated_data.items() if k.endswith("_de")},
    "update_valid": update.is_valid() and update.validated_data == {"title_de": "Neu"},
    "me_valid": me.is_valid() and me.validated_data == {"language": "de"},
    "register_valid": register.is_valid(),
    "detail_fields": sorted(f for f in TaskDetailSerializer().fields if f.endswith("_de")),
    "search_sql_has_de": "title_de" in str(search.query) and "description_de" in str(search.query),
    "task_admin_search": list(admin.site._registry[Task].search_fields),
    "project_admin_search": list(admin.site._registry[Project].search_fields),
    "task_admin_tabbed": "tabbed_translation_fields.js" in str(admin.site._registry[Task].media),
}))
"""


def test_a_fourth_language_in_settings_reaches_models_api_search_and_admin():
    # given a settings module that only appends ("de", "German") to LANGUAGES
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.django_core.fourth_language_settings",
        "DJANGO_ENV": "test",
        "PYTHONPATH": os.pathsep.join([str(REPO / "django-core"), str(REPO)]),
    }

    # when django-core starts with it
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO / "django-core", env=env, capture_output=True, text=True, timeout=60
    )

    # then German is a language like the others, everywhere that derives from LANGUAGES
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["languages"] == ["en", "ru", "es", "de"]
    assert found["fallback"] == ["en", "ru", "es", "de"]
    assert found["task_columns"] == ["description_de", "title_de"]
    assert found["project_columns"] == ["description_de", "name_de"]
    assert found["create_valid"]
    assert found["create_data"] == {"title_de": "Den Server reparieren", "description_de": "Er ist aus"}
    assert found["update_valid"]
    assert found["me_valid"]
    assert found["register_valid"]
    assert found["detail_fields"] == ["description_de", "title_de"]
    assert found["search_sql_has_de"]
    assert {"title_de", "description_de"} <= set(found["task_admin_search"])
    assert {"name_de", "description_de"} <= set(found["project_admin_search"])
    assert found["task_admin_tabbed"]
