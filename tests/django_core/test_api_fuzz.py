"""Schema-driven fuzzing of the HTTP API with schemathesis, in process, against our own OpenAPI
document (drf-spectacular, /api/schema).

Every operation of the schema is fuzzed (examples, coverage and fuzzing phases; valid and invalid
inputs) as a user with real objects (see fuzz_support.build_fuzz_world): the examples phase uses
their ids and request bodies that reach them, and the fuzzing phase mixes their ids, emails,
passwords and tokens into the random values. A response fails the test when:

- it is a 5xx (`not_a_server_error`);
- it is a 4xx whose body breaks the error contract of DESIGN.md ("HTTP API"): JSON, and either
  `{"detail", "code"}` or field errors `{"field": ["msg"]}` (`json_error_body`);
- it is a 2xx that does not match the response documented in the schema
  (`response_schema_conformance`, 2xx only: the schema documents no 4xx responses).

No operation is excluded. Operations that would spoil the user's state for later requests (logout,
token refresh, password change, project deletion, leaving a project, accepting the invite) are
harmless here because each generated request is rolled back (fuzz_support.example_rolled_back).
Requests that schemathesis sends without credentials on purpose (negative security cases) are
left so: their 401 must be JSON too.

Bounded and reproducible: a fixed seed, derandomized generation, no example database, a small
number of examples per operation. Run alone with a private test database, e.g.
`DATABASE_TEST_NAME=test_taskflow_fuzz pytest tests/django_core/test_api_fuzz.py -q`.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from config.wsgi import application
from tests.django_core.fuzz_support import (
    BODY_VALUES,
    CHECKS,
    PATH_VALUES,
    QUERY_VALUES,
    REFRESH_TOKEN_STAND_IN,
    FuzzWorld,
    build_fuzz_world,
    example_rolled_back,
    requests_keep_test_connection,
    schema_with_examples,
)

SEED = 20240601
# Per operation and phase; the whole file runs in well under a minute on 2 cores.
MAX_EXAMPLES = 30

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none", "mode": "all"},
    }
)


def _load_schema() -> schemathesis.BaseSchema:
    """The OpenAPI document as the application serves it at /api/schema, plus the world's ids as
    examples, bound to the in-process WSGI application."""
    served = schemathesis.openapi.from_wsgi("/api/schema", application).raw_schema
    schema = schemathesis.openapi.from_dict(schema_with_examples(served), config=CONFIG)
    schema.app = application
    return schema


schema = _load_schema()


def _mixed(values: dict[str, Any] | None, known: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """Each generated value that has real counterparts is kept or swapped for one of them."""
    if not values:
        return st.just(values)
    return st.fixed_dictionaries(
        {
            name: st.one_of(st.just(value), st.sampled_from(known[name])) if known.get(name) else st.just(value)
            for name, value in values.items()
        }
    )


# Fuzzing-phase hooks: besides random values, path ids, query filters and body properties
# (project, assignee, email, password, refresh, token) also take the world's real values.
@schema.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any] | None) -> Any:
    return _mixed(path_parameters, PATH_VALUES)


@schema.hook
def flatmap_query(context: schemathesis.HookContext, query: dict[str, Any] | None) -> Any:
    return _mixed(query, QUERY_VALUES)


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> Any:
    return _mixed(body, BODY_VALUES) if isinstance(body, dict) else st.just(body)


@pytest.fixture
def fuzz_world(db: None) -> Iterator[FuzzWorld]:
    with requests_keep_test_connection():
        yield build_fuzz_world()


@pytest.mark.fuzz
@schema.parametrize()
# The world fixture is shared by the examples of one operation on purpose: each example runs in a
# savepoint that is rolled back, so every example sees the world as the fixture made it.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_fuzz(case: schemathesis.Case, fuzz_world: FuzzWorld) -> None:
    # The refresh token is minted per test, after the schema's examples were made.
    if isinstance(case.body, dict) and case.body.get("refresh") == REFRESH_TOKEN_STAND_IN:
        case.body["refresh"] = fuzz_world.refresh
    # Operations under the bearer scheme are called as the world's user.
    security = case.operation.definition.raw.get("security", [])
    headers = {"Authorization": f"Bearer {fuzz_world.access}"} if any("jwtAuth" in s for s in security) else None
    with example_rolled_back():
        case.call_and_validate(headers=headers, checks=CHECKS)
