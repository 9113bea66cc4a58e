"""Schema-driven fuzzing of the HTTP API through the gateway (schemathesis), as a member of a real
project: nginx, gunicorn and django-core as deployed, the OpenAPI document as the gateway serves it
at /api/schema.

The world is made through the API itself: an owner with a project, tasks and comments, who
invites the fuzzed user as a `member`; the fuzzed user accepts. Their ids are the examples of the
path parameters and are mixed into the generated values. Two runs, bounded (fixed seed, few
examples, no deadline; well under a minute together on 2 cores):

- every operation on its own (generated values, valid and invalid);
- stateful: schemathesis's state machine over the links it infers between operations (a project
  or task listed, then read, changed, commented, moved, deleted ...), from the same world.

Every response must pass tests/django_core/fuzz_support.CHECKS: no 5xx, errors in the API's JSON
error shape, 2xx bodies as the schema documents them. Left out here, fuzzed in process by
tests/django_core/test_api_fuzz.py: /api/auth/* (the gateway limits it per address, so the
fuzzer would mostly see the gateway's 429) and the password change (it ends the fuzzed session).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.django_core.fuzz_support import CHECKS, schema_with_examples
from tests.e2e.client import Person, sign_up, verify_email
from tests.e2e.mail_sink import MailSink
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

SEED = 20261207
LEFT_OUT = ("auth_", "users_me_password_create")
FUZZ_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": list(HealthCheck),
    "phases": [Phase.explicit, Phase.generate],
}


@dataclass(frozen=True)
class World:
    owner: Person
    member: Person
    project_id: int
    path_values: dict[str, list[Any]]

    def keep_member(self) -> None:
        """The fuzzed user may leave the project (DELETE .../members/{their id}): invited and
        accepted again, so what follows still runs as a member."""
        if self.member.request("GET", f"/api/projects/{self.project_id}").status_code == 200:
            return
        invite = {"email": self.member.email, "role": "member"}
        self.owner.ok("POST", f"/api/projects/{self.project_id}/invites", invite, status=201)
        pending = self.member.ok("GET", "/api/invites")["results"]
        (invite_id,) = [item["id"] for item in pending if item["project"]["id"] == self.project_id]
        self.member.ok("POST", f"/api/invites/{invite_id}/accept", status=201)


@pytest.fixture(scope="module")
def world(stack: Stack, mail_sink: MailSink) -> World:
    base = stack.gateways["single"].url
    owner, member = sign_up(base, "fuzz-owner"), sign_up(base, "fuzz-member")
    verify_email(member, mail_sink)
    project = owner.ok("POST", "/api/projects", {"name": "Fuzzed", "description": "Through the gateway"}, status=201)
    owner.ok("POST", f"/api/projects/{project['id']}/invites", {"email": member.email, "role": "member"}, status=201)
    (invite,) = member.ok("GET", "/api/invites")["results"]
    member.ok("POST", f"/api/invites/{invite['id']}/accept", status=201)
    tasks = [
        owner.ok("POST", "/api/tasks", {"project": project["id"], "title": title, **extra}, status=201)
        for title, extra in (("Assigned", {"assignee": member.id}), ("Open", {}), ("Urgent", {"priority": "urgent"}))
    ]
    comment = owner.ok("POST", f"/api/tasks/{tasks[0]['id']}/comments", {"body": "First"}, status=201)
    notifications = [item["id"] for item in member.ok("GET", "/api/notifications")["results"]]
    return World(
        owner=owner,
        member=member,
        project_id=project["id"],
        path_values={
            "project_id": [project["id"]],
            "task_id": [task["id"] for task in tasks],
            "comment_id": [comment["id"]],
            "user_id": [owner.id, member.id],
            "invite_id": [invite["id"]],
            "notification_id": notifications or [1],
        },
    )


@pytest.fixture(scope="module")
def schema(stack: Stack, world: World) -> schemathesis.BaseSchema:
    base = stack.gateways["single"].url
    served = requests.get(f"{base}/api/schema", timeout=10)
    assert served.status_code == 200, served.text[:300]
    loaded = schemathesis.openapi.from_dict(
        schema_with_examples(yaml.safe_load(served.text), path_values=world.path_values, body_examples={}),
        config=schemathesis.Config.from_dict({"base-url": base, "seed": SEED}),
    )

    @loaded.hook
    def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any] | None) -> Any:
        if not path_parameters:
            return st.just(path_parameters)
        return st.fixed_dictionaries(
            {
                name: st.one_of(st.just(value), st.sampled_from(world.path_values[name]))
                if name in world.path_values
                else st.just(value)
                for name, value in path_parameters.items()
            }
        )

    return loaded


def fuzzed_operations(schema: schemathesis.BaseSchema) -> Iterator[Any]:
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.definition.raw.get("operationId", "").startswith(LEFT_OUT):
            yield operation


def headers_for(member: Person, case: schemathesis.Case) -> dict[str, str]:
    security = case.operation.definition.raw.get("security", [])
    return {"Authorization": f"Bearer {member.access}"} if any("jwtAuth" in s for s in security) else {}


def test_every_operation_through_the_gateway(schema: schemathesis.BaseSchema, world: World) -> None:
    operations = list(fuzzed_operations(schema))
    assert len(operations) > 30, "the gateway served a partial schema"
    session = requests.Session()
    for operation in operations:
        world.keep_member()

        @given(case=operation.as_strategy())
        @settings(max_examples=8, **FUZZ_SETTINGS)
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(session=session, headers=headers_for(world.member, case), checks=CHECKS)

        fuzz()


def test_stateful_links_through_the_gateway(schema: schemathesis.BaseSchema, world: World) -> None:
    left_out = schema.exclude(operation_id_regex=f"^({'|'.join(LEFT_OUT)})")
    machine = left_out.as_state_machine()

    followed: list[str] = []

    class Scenario(machine):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            world.keep_member()

        def step(self, input: Any) -> Any:
            output = super().step(input)
            if input.transition is not None and input.is_applied and output.response.status_code < 300:
                followed.append(input.case.operation.label)
            return output

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": headers_for(world.member, case)}

        def validate_response(
            self, response: schemathesis.Response, case: schemathesis.Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Scenario.run(settings=settings(max_examples=25, stateful_step_count=10, **FUZZ_SETTINGS))

    # Links were followed: operations called with values taken from an earlier response, answered.
    assert len(set(followed)) >= 3, followed
