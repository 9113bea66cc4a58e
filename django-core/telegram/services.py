"""Writes of the Telegram channel: linking a chat, unlinking it, the bot's identity, and the
life of a delivery (claim → sent | blocked | failed | skipped). Keyword-only and atomic; the
bot's task and comment writes go through tasks.services like the API's."""

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from notifications.preferences import preferences_of
from rest_framework import exceptions

from accounts.models import User
from common.errors import ServiceUnavailable
from common.tokens import token_hash
from telegram.dispatch import telegram_deliveries_enqueue
from telegram.messages import Buttons, RenderContext, render_delivery
from telegram.models import PENDING_STATUSES, DeliveryStatus, TelegramBot, TelegramDelivery, TelegramLinkToken

logger = logging.getLogger(__name__)


class LinkTokenError(exceptions.ValidationError):
    """A token that links nothing: `token_invalid`, `token_expired` or `token_used`."""

    def __init__(self, detail: str, code: str) -> None:
        super().__init__({"detail": detail, "code": code})
        self.code = code


def bot_username() -> str:
    """The username deep links name: TELEGRAM_BOT_USERNAME, else what the bot reported."""
    if settings.TELEGRAM_BOT_USERNAME:
        return settings.TELEGRAM_BOT_USERNAME
    return TelegramBot.objects.filter(pk=1).values_list("username", flat=True).first() or ""


def telegram_bot_register(*, username: str) -> None:
    """Stores the bot's username as `getMe` answered it (the bot calls this at start-up)."""
    with transaction.atomic():
        TelegramBot.objects.update_or_create(pk=1, defaults={"username": username.lstrip("@")})


@dataclass(frozen=True)
class LinkStart:
    url: str
    expires_in: int


def telegram_link_start(*, user: User) -> LinkStart:
    """A new single-use deep link for `user`; any earlier unused token of theirs stops working."""
    username = bot_username()
    if not username:
        raise ServiceUnavailable(
            _("The Telegram bot is not running yet; ask your administrator to start it."), "telegram_unavailable"
        )
    token = secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-]: what /start accepts
    now = timezone.now()
    with transaction.atomic():
        TelegramLinkToken.objects.filter(user=user, used_at__isnull=True).delete()
        TelegramLinkToken.objects.create(
            user=user,
            token_hash=token_hash(token),
            expires_at=now + timedelta(seconds=settings.TELEGRAM_LINK_TTL),
        )
    return LinkStart(url=f"https://t.me/{username}?start={token}", expires_in=settings.TELEGRAM_LINK_TTL)


def telegram_link_consume(*, token: str, chat_id: int) -> tuple[User, bool]:
    """Links `chat_id` (a private chat, from the update) to the token's account and returns it,
    and whether the chat was moved from another account. The token is consumed under its row
    lock: of two concurrent uses one links and the other is told the token was used."""
    with transaction.atomic():
        row = TelegramLinkToken.objects.select_for_update().filter(token_hash=token_hash(token)).first()
        if row is None:
            raise LinkTokenError(_("This link is not valid. Ask for a new one in TaskFlow."), "token_invalid")
        if row.used_at is not None:
            raise LinkTokenError(_("This link was used already. Ask for a new one in TaskFlow."), "token_used")
        now = timezone.now()
        if row.expires_at <= now:
            raise LinkTokenError(_("This link has expired. Ask for a new one in TaskFlow."), "token_expired")
        user = User.objects.select_for_update().get(pk=row.user_id)
        if not user.is_active:
            raise LinkTokenError(_("This link is not valid. Ask for a new one in TaskFlow."), "token_invalid")
        moved = User.objects.filter(telegram_chat_id=chat_id).exclude(pk=user.pk).update(telegram_chat_id=None) > 0
        row.used_at, row.chat_id = now, chat_id
        row.save(update_fields=["used_at", "chat_id"])
        user.telegram_chat_id = chat_id
        user.save(update_fields=["telegram_chat_id"])
    logger.info("telegram chat linked to user=%s (moved from another account: %s)", user.pk, moved)
    return user, moved


def telegram_unlink(*, user: User) -> None:
    """Unlinks the user's chat (the API's DELETE, the bot's /unlink)."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(telegram_chat_id=None)
        TelegramLinkToken.objects.filter(user=user, used_at__isnull=True).delete()
    user.telegram_chat_id = None
    logger.info("telegram chat unlinked from user=%s", user.pk)


# --- Deliveries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    status: str  # "ready" or "skip"
    reason: str = ""
    chat_id: int | None = None
    text: str = ""
    buttons: Buttons | None = None

    def as_json(self) -> dict[str, Any]:
        if self.status == "ready":
            return {
                "id": self.id,
                "status": "ready",
                "chat_id": self.chat_id,
                "text": self.text,
                "buttons": self.buttons,
            }
        return {"id": self.id, "status": "skip", "reason": self.reason}


def telegram_deliveries_claim(*, ids: list[int]) -> list[Claimed]:
    """Claims deliveries for sending, in the order asked: each is rendered for its recipient as
    they are now, or skipped (unlinked, Telegram turned off for the type, deactivated), or left
    alone because it is done or another consumer holds it (a duplicate stream entry). A batch
    costs a fixed number of queries (the rows, preferences per event type, what rendering reads,
    one update), whatever its size."""
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.TELEGRAM_CLAIM_LEASE)
    with transaction.atomic():
        rows = {
            d.pk: d
            for d in TelegramDelivery.objects.select_for_update(of=("self",)).select_related("user").filter(pk__in=ids)
        }
        answers: dict[int, Claimed] = {}
        changed: list[TelegramDelivery] = []
        candidates: list[TelegramDelivery] = []
        for delivery in rows.values():
            if delivery.status not in PENDING_STATUSES:
                answers[delivery.pk] = Claimed(id=delivery.pk, status="skip", reason="done")
            elif delivery.status == DeliveryStatus.SENDING and delivery.claimed_until and delivery.claimed_until > now:
                answers[delivery.pk] = Claimed(id=delivery.pk, status="skip", reason="in_progress")
            elif not delivery.user.is_active:
                answers[delivery.pk] = _skipped(delivery, "inactive", changed)
            elif delivery.user.telegram_chat_id is None:
                answers[delivery.pk] = _skipped(delivery, "unlinked", changed)
            else:
                candidates.append(delivery)
        wanted = _telegram_wanted(candidates)
        sending = []
        for delivery in candidates:
            if wanted[delivery.pk]:
                sending.append(delivery)
            else:
                answers[delivery.pk] = _skipped(delivery, "telegram_off", changed)
        context = RenderContext.load([(d.envelope.get("data", {}), d.user) for d in sending])
        for delivery in sending:
            rendered = render_delivery(delivery.envelope, delivery.user, context)
            delivery.status, delivery.claimed_until = DeliveryStatus.SENDING, lease_until
            delivery.chat_id = delivery.user.telegram_chat_id  # type: ignore[assignment]
            changed.append(delivery)
            answers[delivery.pk] = Claimed(
                id=delivery.pk, status="ready", chat_id=delivery.chat_id, text=rendered.text, buttons=rendered.buttons
            )
        if changed:
            TelegramDelivery.objects.bulk_update(changed, ["status", "skip_reason", "claimed_until", "chat_id"])
    result, seen = [], set()
    for delivery_id in ids:
        answer = answers.get(delivery_id, Claimed(id=delivery_id, status="skip", reason="unknown"))
        if answer.status == "ready" and delivery_id in seen:
            answer = Claimed(id=delivery_id, status="skip", reason="in_progress")  # asked twice: one send
        seen.add(delivery_id)
        result.append(answer)
    return result


def _skipped(delivery: TelegramDelivery, reason: str, changed: list[TelegramDelivery]) -> Claimed:
    """Marks a delivery skipped (saved with the batch's update) and answers so."""
    delivery.status, delivery.skip_reason, delivery.claimed_until = DeliveryStatus.SKIPPED, reason, None
    changed.append(delivery)
    return Claimed(id=delivery.pk, status="skip", reason=reason)


def _telegram_wanted(deliveries: list[TelegramDelivery]) -> dict[int, bool]:
    """Whether each delivery's recipient still has Telegram on for its event type: one query per
    event type among the recipients who stored preferences, none for the others."""
    by_type: dict[str, list[TelegramDelivery]] = {}
    for delivery in deliveries:
        by_type.setdefault(delivery.event_type, []).append(delivery)
    wanted: dict[int, bool] = {}
    for event_type, group in by_type.items():
        users = [d.user for d in group]
        channels = preferences_of(
            user_ids=[u.pk for u in users],
            event_type=event_type,
            customized=[u.pk for u in users if u.has_notification_preferences],
        )
        wanted |= {d.pk: channels[d.user_id]["telegram"] for d in group}
    return wanted


@dataclass(frozen=True)
class Outcome:
    status: str
    retry: bool


def telegram_delivery_result(
    *, delivery_id: int, outcome: str, message_id: int | None = None, error: str = ""
) -> Outcome:
    """Records what sending a claimed delivery gave. `sent`: done (the message id is kept, so a
    reply to it is a comment). `blocked` (Telegram's 403): the chat is unlinked and nothing more
    goes to it. `failed`: counted; retried until TELEGRAM_MAX_ATTEMPTS, then parked. A result for
    a delivery that is finished already changes nothing (the bot may report twice)."""
    with transaction.atomic():
        delivery = TelegramDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            raise exceptions.NotFound()
        if delivery.status not in PENDING_STATUSES:
            return Outcome(status=delivery.status, retry=False)
        now = timezone.now()
        fields = ["status", "claimed_until"]
        delivery.claimed_until = None
        if outcome == "sent":
            delivery.status, delivery.sent_at = DeliveryStatus.SENT, now
            delivery.message_id, delivery.sent_chat_id = message_id, delivery.chat_id
            fields += ["sent_at", "message_id", "sent_chat_id"]
        elif outcome == "blocked":
            delivery.status, delivery.last_error = DeliveryStatus.BLOCKED, error[:2000] or "blocked by the user"
            fields.append("last_error")
            unlinked = User.objects.filter(pk=delivery.user_id, telegram_chat_id=delivery.chat_id).update(
                telegram_chat_id=None
            )
            logger.info("telegram chat of user=%s blocked the bot; unlinked: %s", delivery.user_id, bool(unlinked))
        else:
            delivery.attempts += 1
            delivery.last_error = error[:2000]
            fields += ["attempts", "last_error"]
            if delivery.attempts >= settings.TELEGRAM_MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.FAILED
                logger.warning(
                    "telegram delivery %s parked after %d attempts: %s", delivery.pk, delivery.attempts, error
                )
            else:
                # Still the bot's while it waits to retry.
                delivery.claimed_until = now + timedelta(seconds=settings.TELEGRAM_CLAIM_LEASE)
        delivery.save(update_fields=fields)
    return Outcome(status=delivery.status, retry=delivery.status == DeliveryStatus.SENDING)


def telegram_deliveries_retry(*, deliveries: Any) -> int:
    """Puts parked deliveries (failed, expired) back on the stream (the admin's action): queued
    afresh, with no attempts counted, and on the stream once that is committed."""
    with transaction.atomic():
        rows = list(deliveries.select_for_update().filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.EXPIRED]))
        now = timezone.now()
        for row in rows:
            row.status, row.attempts, row.queued_at, row.claimed_until = DeliveryStatus.QUEUED, 0, None, None
            # A new lease of life: the sweep's max age counts from here.
            row.created_at = now
        TelegramDelivery.objects.bulk_update(rows, ["status", "attempts", "queued_at", "claimed_until", "created_at"])
    if rows:
        telegram_deliveries_enqueue()
    return len(rows)
