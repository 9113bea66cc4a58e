"""Links in emails: pages of the web client behind the gateway (settings.PUBLIC_URL). The paths
are part of the contract with the web client (docs/background.md)."""

from urllib.parse import urlencode

from django.conf import settings

TASK_PATH = "/tasks/{id}"
PREFERENCES_PATH = "/settings/notifications"
INVITE_ACCEPT_PATH = "/invite/accept"
VERIFY_EMAIL_PATH = "/verify-email"
RESET_PASSWORD_PATH = "/reset-password"  # noqa: S105 (a page path, not a credential)


def app_url() -> str:
    return settings.PUBLIC_URL + "/"


def task_url(task_id: int) -> str:
    return settings.PUBLIC_URL + TASK_PATH.format(id=task_id)


def preferences_url() -> str:
    return settings.PUBLIC_URL + PREFERENCES_PATH


def invite_accept_url(token: str) -> str:
    """The page that accepts an invite (it calls POST /api/invites/accept with the token, after
    sign-up or log-in)."""
    return settings.PUBLIC_URL + INVITE_ACCEPT_PATH + "?" + urlencode({"token": token})


def verify_email_url(token: str) -> str:
    """The page that verifies the address (it calls POST /api/auth/verify-email with the token)."""
    return settings.PUBLIC_URL + VERIFY_EMAIL_PATH + "?" + urlencode({"token": token})


def reset_password_url(token: str) -> str:
    """The page that sets a new password (POST /api/auth/password-reset/confirm with the token)."""
    return settings.PUBLIC_URL + RESET_PASSWORD_PATH + "?" + urlencode({"token": token})
