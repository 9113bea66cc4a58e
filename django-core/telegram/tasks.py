"""Celery tasks of the Telegram channel."""

from celery import shared_task

from telegram.dispatch import telegram_deliveries_sweep, telegram_dispatch_pending


@shared_task(name="telegram.deliveries_sweep")
def deliveries_sweep() -> dict[str, int]:
    """From beat (every minute): expires, requeues and prunes deliveries (telegram.dispatch)."""
    return telegram_deliveries_sweep()


@shared_task(name="telegram.dispatch_pending")
def dispatch() -> int:
    """From beat, a safety net: the outbox relay dispatches every cycle."""
    return telegram_dispatch_pending()
