from datetime import timedelta

import pytest
from django.utils import timezone

from projects.models import Invite, Membership, Project, Role
from tasks.models import Task
from tests.django_core.factories import MembershipFactory, ProjectFactory, TaskFactory, UserFactory
from tests.django_core.projects.helpers import MISSING_ID, NOT_FOUND, db_snapshot

pytestmark = pytest.mark.django_db


# --- list --------------------------------------------------------------------------------------


def test_list_shows_only_my_projects_with_my_role(team, client_for):
    # given a second project where the team's viewer is the admin
    second = ProjectFactory(name="Second")
    MembershipFactory(project=second, user=team["viewer"], role=Role.ADMIN)

    response = client_for(team["viewer"]).get("/api/projects")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    roles = {item["id"]: item["my_role"] for item in body["results"]}
    assert roles == {team["project"].pk: "viewer", second.pk: "admin"}
    assert team["other_project"].pk not in roles


def test_list_is_empty_for_a_user_without_projects(client_for):
    response = client_for(UserFactory()).get("/api/projects/")

    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_list_is_newest_first(client_for, member_of):
    user = UserFactory()
    older, newer = ProjectFactory(), ProjectFactory()
    Project.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=1))
    member_of(user, older)
    member_of(user, newer)

    results = client_for(user).get("/api/projects").json()["results"]

    assert [item["id"] for item in results] == [newer.pk, older.pk]


def test_list_item_shape(team, client_for):
    item = client_for(team["owner"]).get("/api/projects").json()["results"][0]

    assert set(item) == {
        "id",
        "name",
        "description",
        "name_en",
        "name_ru",
        "name_es",
        "description_en",
        "description_ru",
        "description_es",
        "my_role",
        "created_at",
        "updated_at",
    }
    assert item["my_role"] == "owner"


def test_list_page_size_is_capped_at_100(client_for):
    user = UserFactory()
    projects = Project.objects.bulk_create([Project(name=f"P{i}", name_en=f"P{i}") for i in range(105)])
    Membership.objects.bulk_create([Membership(project=p, user=user, role=Role.MEMBER) for p in projects])
    client = client_for(user)

    capped = client.get("/api/projects", {"page_size": 500}).json()
    default = client.get("/api/projects").json()
    small = client.get("/api/projects", {"page_size": 50, "page": 3}).json()

    assert capped["count"] == 105
    assert len(capped["results"]) == 100
    assert capped["next"] is not None
    assert capped["previous"] is None
    assert len(default["results"]) == 20
    assert len(small["results"]) == 5
    assert small["next"] is None
    assert small["previous"] is not None


def test_list_needs_authentication(api_client, team):
    response = api_client.get("/api/projects")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- create ------------------------------------------------------------------------------------


def test_create_makes_me_the_owner(client_for):
    user = UserFactory()

    response = client_for(user).post("/api/projects", {"name": "Garden", "description": "Veg"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Garden"
    assert body["name_en"] == "Garden"
    assert body["description"] == "Veg"
    assert body["my_role"] == "owner"
    project = Project.objects.get(pk=body["id"])
    assert project.created_by == user
    assert list(Membership.objects.filter(project=project).values_list("user_id", "role")) == [(user.pk, "owner")]


def test_created_project_shows_in_my_list(client_for):
    user = UserFactory()
    client = client_for(user)

    created = client.post("/api/projects/", {"name": "Garden"}, format="json").json()

    listed = client.get("/api/projects").json()["results"]
    assert [(p["id"], p["my_role"]) for p in listed] == [(created["id"], "owner")]


@pytest.mark.parametrize(
    "payload",
    [{}, {"name": ""}, {"description": "only a description"}, {"name_en": "", "name_ru": ""}],
    ids=["empty", "blank-name", "no-name", "blank-translations"],
)
def test_create_needs_a_name(client_for, payload):
    response = client_for(UserFactory()).post("/api/projects", payload, format="json")

    assert response.status_code == 400
    assert "name" in response.json()
    assert not Project.objects.exists()


def test_create_rejects_a_name_over_200_characters(client_for):
    response = client_for(UserFactory()).post("/api/projects", {"name": "x" * 201}, format="json")

    assert response.status_code == 400
    assert "name" in response.json()
    assert not Project.objects.exists()


def test_create_rejects_a_non_json_body_with_json_error(client_for):
    response = client_for(UserFactory()).post(
        "/api/projects", "name=x", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_create_ignores_read_only_fields(client_for):
    user = UserFactory()

    response = client_for(user).post("/api/projects", {"name": "P", "my_role": "viewer", "id": 12345}, format="json")

    assert response.status_code == 201
    assert response.json()["my_role"] == "owner"
    assert response.json()["id"] != 12345


# --- retrieve ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_member_can_read_the_project(team, client_for, role):
    response = client_for(team[role]).get(f"/api/projects/{team['project'].pk}")

    assert response.status_code == 200
    assert response.json()["id"] == team["project"].pk
    assert response.json()["my_role"] == role


def test_outsider_gets_the_same_404_as_for_a_missing_project(team, client_for):
    client = client_for(team["outsider"])

    real = client.get(f"/api/projects/{team['project'].pk}")
    missing = client.get(f"/api/projects/{MISSING_ID}")

    assert real.status_code == missing.status_code == 404
    assert real.json() == missing.json() == NOT_FOUND


# --- update ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_admin_and_owner_can_edit(team, client_for, role):
    project = team["project"]

    response = client_for(team[role]).patch(
        f"/api/projects/{project.pk}", {"name": "Renamed", "description": "New"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    assert response.json()["my_role"] == role
    project.refresh_from_db()
    assert project.name_en == "Renamed"
    assert project.description_en == "New"


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_member_and_viewer_cannot_edit(team, client_for, role):
    before = db_snapshot()

    response = client_for(team[role]).patch(f"/api/projects/{team['project'].pk}", {"name": "Nope"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_role"
    assert db_snapshot() == before


def test_patch_is_partial(team, client_for):
    project = team["project"]
    old_name = project.name_en

    response = client_for(team["admin"]).patch(f"/api/projects/{project.pk}", {"description": "D"}, format="json")

    assert response.status_code == 200
    project.refresh_from_db()
    assert project.name_en == old_name
    assert project.description_en == "D"


def test_patch_rejects_an_empty_name(team, client_for):
    before = db_snapshot()

    response = client_for(team["owner"]).patch(f"/api/projects/{team['project'].pk}", {"name": ""}, format="json")

    assert response.status_code == 400
    assert "name" in response.json()
    assert db_snapshot() == before


def test_patch_cannot_change_membership_or_role(team, client_for):
    project = team["project"]
    before = db_snapshot()["Membership"]

    response = client_for(team["admin"]).patch(
        f"/api/projects/{project.pk}", {"my_role": "owner", "created_by": team["admin"].pk}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["my_role"] == "admin"
    assert db_snapshot()["Membership"] == before


# --- delete ------------------------------------------------------------------------------------


def test_owner_deletes_the_project_and_everything_under_it(team, client_for, invite_for):
    project = team["project"]
    TaskFactory(project=project, reporter=team["member"], assignee=team["member"])
    invite_for(project, "new@example.com")

    response = client_for(team["owner"]).delete(f"/api/projects/{project.pk}")

    assert response.status_code == 204
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not Membership.objects.filter(project_id=project.pk).exists()
    assert not Invite.objects.filter(project_id=project.pk).exists()
    assert not Task.objects.filter(project_id=project.pk).exists()
    # and the other project is untouched
    assert Project.objects.filter(pk=team["other_project"].pk).exists()
    assert client_for(team["owner"]).get(f"/api/projects/{project.pk}").status_code == 404


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_only_the_owner_deletes(team, client_for, role):
    before = db_snapshot()

    response = client_for(team[role]).delete(f"/api/projects/{team['project'].pk}")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_role"
    assert db_snapshot() == before


# --- translations ------------------------------------------------------------------------------


def test_create_per_language_and_read_in_the_request_language(client_for):
    client = client_for(UserFactory())

    created = client.post(
        "/api/projects",
        {"name_en": "Garden", "name_ru": "Сад", "description_en": "Veg", "description_ru": "Овощи"},
        format="json",
    )

    assert created.status_code == 201
    assert created.json()["name"] == "Garden"
    project_id = created.json()["id"]
    ru = client.get(f"/api/projects/{project_id}", HTTP_ACCEPT_LANGUAGE="ru").json()
    en = client.get(f"/api/projects/{project_id}", HTTP_ACCEPT_LANGUAGE="en").json()
    assert (ru["name"], ru["description"]) == ("Сад", "Овощи")
    assert (en["name"], en["description"]) == ("Garden", "Veg")
    assert ru["name_en"] == en["name_en"] == "Garden"
    assert ru["name_ru"] == en["name_ru"] == "Сад"


def test_russian_falls_back_to_english_when_name_ru_is_empty(team, client_for):
    project = team["project"]
    Project.objects.filter(pk=project.pk).update(name_en="Garden", name_ru="", description_en="Veg")

    body = client_for(team["member"]).get(f"/api/projects/{project.pk}", HTTP_ACCEPT_LANGUAGE="ru").json()

    assert body["name"] == "Garden"
    assert body["description"] == "Veg"
    listed = client_for(team["member"]).get("/api/projects", HTTP_ACCEPT_LANGUAGE="ru").json()["results"]
    assert listed[0]["name"] == "Garden"


def test_plain_name_is_written_in_the_request_language(team, client_for):
    project = team["project"]
    Project.objects.filter(pk=project.pk).update(name_en="Garden", name_ru="")

    response = client_for(team["admin"]).patch(
        f"/api/projects/{project.pk}", {"name": "Сад"}, format="json", HTTP_ACCEPT_LANGUAGE="ru"
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Сад"
    project.refresh_from_db()
    assert (project.name_en, project.name_ru) == ("Garden", "Сад")


def test_without_accept_language_the_users_language_is_used(team, client_for):
    project = team["project"]
    Project.objects.filter(pk=project.pk).update(name_en="Garden", name_ru="Сад")
    reader = team["member"]
    reader.language = "ru"
    reader.save(update_fields=["language"])

    body = client_for(reader).get(f"/api/projects/{project.pk}").json()

    assert body["name"] == "Сад"


def test_create_with_only_a_russian_name_reads_it_in_english_too(client_for):
    client = client_for(UserFactory())

    created = client.post("/api/projects", {"name_ru": "Сад"}, format="json")

    assert created.status_code == 201
    assert client.get(f"/api/projects/{created.json()['id']}", HTTP_ACCEPT_LANGUAGE="en").json()["name"] == "Сад"


def test_patch_one_language_leaves_the_other(team, client_for):
    project = team["project"]
    Project.objects.filter(pk=project.pk).update(name_en="Garden", name_ru="Сад")

    response = client_for(team["owner"]).patch(f"/api/projects/{project.pk}", {"name_ru": "Огород"}, format="json")

    assert response.status_code == 200
    project.refresh_from_db()
    assert (project.name_en, project.name_ru) == ("Garden", "Огород")


@pytest.mark.parametrize(
    "payload",
    [{"name_en": ""}, {"name_en": None}, {"name_en": "   "}, {"name_en": "", "name_ru": ""}],
    ids=["blank", "null", "spaces", "both-blank"],
)
def test_patch_cannot_leave_the_project_without_any_name(team, client_for, payload):
    # given a project named in English only
    project = team["project"]
    Project.objects.filter(pk=project.pk).update(name_en="Garden", name_ru=None)
    before = db_snapshot()

    response = client_for(team["owner"]).patch(f"/api/projects/{project.pk}", payload, format="json")

    assert response.status_code == 400
    assert "name" in response.json()
    assert db_snapshot() == before


def test_patch_may_blank_one_language_while_another_has_a_name(team, client_for):
    project = team["project"]
    Project.objects.filter(pk=project.pk).update(name_en="Garden", name_ru="Сад")

    response = client_for(team["owner"]).patch(f"/api/projects/{project.pk}", {"name_en": ""}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "Сад"
