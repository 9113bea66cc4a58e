from celery import shared_task

from projects.services import invites_expire


@shared_task(name="projects.invites_expire")
def expire_invites() -> int:
    """Hourly: pending invites past their expiry are stored as expired."""
    return invites_expire()
