from collections.abc import Callable, Iterator

import pytest
from django.utils import translation

from accounts.models import User
from projects import services
from projects.models import Membership, Project, Role


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Requests activate a language in this thread (Accept-Language, the user's language); reset it
    so reads in the test itself are in English and do not depend on the previous request."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def invite_for(db: None) -> Callable[..., services.CreatedInvite]:
    """Invites an email to a project through the service, as the project's owner by default."""

    def make(project: Project, email: str, role: Role = Role.MEMBER, by: User | None = None) -> services.CreatedInvite:
        actor = by or Membership.objects.get(project=project, role=Role.OWNER).user
        return services.invite_create(project=project, actor=actor, email=email, role=role)

    return make
