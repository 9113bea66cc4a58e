"""Email verification: registering mails a single-use link; the token verifies the address once,
within EMAIL_VERIFICATION_TTL; a signed-in user may ask for another link once a minute."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AccountToken, AccountTokenPurpose, User
from accounts.services import account_token_value, email_verification_send
from tests.django_core.accounts.paths import ME_URL, REGISTER_URL, VERIFY_EMAIL_RESEND_URL, VERIFY_EMAIL_URL
from tests.django_core.factories import UserFactory

pytestmark = pytest.mark.django_db


def _token_of(row: AccountToken) -> str:
    return account_token_value(salt=row.salt)


@pytest.fixture
def unverified(db: None) -> User:
    return UserFactory(email_verified_at=None)


def test_registering_stores_a_hashed_verification_token_and_enqueues_its_mail(
    post_json, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_json(
            REGISTER_URL, {"email": "ada@example.com", "password": "plum orbit lantern 42", "name": "Ada"}
        )

    assert response.status_code == 201
    user = User.objects.get()
    assert user.email_verified_at is None
    [row] = AccountToken.objects.filter(user=user)
    assert row.purpose == AccountTokenPurpose.VERIFY_EMAIL
    assert row.used_at is None
    assert timedelta(hours=47) < row.expires_at - timezone.now() <= timedelta(hours=48)
    # only the hash is stored
    assert _token_of(row) not in {row.token_hash, row.salt}
    assert len(callbacks) == 1  # the mail task, enqueued after commit


def test_me_says_whether_the_email_is_verified(client_for, unverified):
    assert client_for(unverified).get(ME_URL).json()["email_verified"] is False
    assert client_for(UserFactory()).get(ME_URL).json()["email_verified"] is True


def test_a_valid_token_verifies_the_address_once(post_json, unverified):
    row = email_verification_send(user=unverified)

    response = post_json(VERIFY_EMAIL_URL, {"token": _token_of(row)})

    assert response.status_code == 200, response.content
    assert response.json() == {"email_verified": True}
    unverified.refresh_from_db()
    assert unverified.email_verified_at is not None
    # used: a second time is refused
    again = post_json(VERIFY_EMAIL_URL, {"token": _token_of(row)})
    assert again.status_code == 400
    assert again.json()["code"] == "token_used"


def test_an_expired_token_is_refused_and_verifies_nothing(post_json, unverified):
    row = email_verification_send(user=unverified)
    AccountToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = post_json(VERIFY_EMAIL_URL, {"token": _token_of(row)})

    assert response.status_code == 400
    assert response.json()["code"] == "token_expired"
    unverified.refresh_from_db()
    assert unverified.email_verified_at is None


@pytest.mark.parametrize("token", ["made-up", "x" * 43])
def test_a_made_up_token_is_refused(post_json, token):
    response = post_json(VERIFY_EMAIL_URL, {"token": token})

    assert response.status_code == 400
    assert response.json()["code"] == "token_invalid"


def test_a_password_reset_token_does_not_verify(post_json, unverified):
    from accounts.services import account_token_issue

    row = account_token_issue(user=unverified, purpose=AccountTokenPurpose.PASSWORD_RESET, ttl=timedelta(hours=1))

    response = post_json(VERIFY_EMAIL_URL, {"token": _token_of(row)})

    assert response.json()["code"] == "token_invalid"


def test_a_missing_token_is_a_field_error(post_json):
    response = post_json(VERIFY_EMAIL_URL, {})

    assert response.status_code == 400
    assert "token" in response.json()


def test_resend_mails_a_new_link_at_most_once_a_minute(client_for, unverified):
    client = client_for(unverified)

    first = client.post(VERIFY_EMAIL_RESEND_URL)
    second = client.post(VERIFY_EMAIL_RESEND_URL)

    assert first.status_code == 202
    assert AccountToken.objects.filter(user=unverified, purpose=AccountTokenPurpose.VERIFY_EMAIL).count() == 1
    assert second.status_code == 429
    assert 1 <= int(second["Retry-After"]) <= 60


def test_resend_for_a_verified_address_is_400(client_for, user):
    response = client_for(user).post(VERIFY_EMAIL_RESEND_URL)

    assert response.status_code == 400
    assert response.json()["code"] == "already_verified"


def test_resend_needs_a_session(api_client):
    assert api_client.post(VERIFY_EMAIL_RESEND_URL).status_code == 401


def test_createsuperuser_accounts_count_as_verified(db):
    admin = User.objects.create_superuser("root@example.com", "a long admin secret 42")

    assert admin.email_verified
