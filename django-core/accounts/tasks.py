from celery import shared_task

from accounts.services import tokens_prune_expired


@shared_task(name="accounts.tokens_prune_expired")
def prune_expired_tokens() -> int:
    return tokens_prune_expired()
