"""Writes for accounts and authentication. Every function is keyword-only and atomic."""

import base64
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import asdict, dataclass
from datetime import timedelta

import redis
from celery import current_app
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from notifications import events
from rest_framework import exceptions
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch, get_md5_hash_password
from taskflow_contracts import EventType
from taskflow_contracts.events import UserRevokedData

from accounts.models import AccountToken, AccountTokenPurpose, User, normalize_email
from common import throttling
from common.errors import BadRequest, ServiceUnavailable
from common.redis import redis_client
from common.tokens import token_hash

logger = logging.getLogger(__name__)

# Hashing a throwaway password for unknown emails keeps login time the same either way.
_TIMING_DUMMY_PASSWORD = "taskflow-timing-equaliser"  # noqa: S105 (never a real credential)


class AccountLocked(exceptions.Throttled):
    default_detail = "Too many failed logins; the account is locked for a while."
    default_code = "account_locked"


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def user_create(*, email: str, password: str, name: str, language: str = "", timezone_name: str = "UTC") -> User:
    """Registers a user. Raises ValidationError-like DRF errors on a taken email or weak password."""
    email = normalize_email(email)
    user = User(
        email=email,
        name=name.strip(),
        language=language or settings.LANGUAGE_CODE,
        timezone=timezone_name,
    )
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise exceptions.ValidationError({"email": [_("A user with this email already exists.")]}) from exc
    logger.info("user registered id=%s", user.id)
    email_verification_send(user=user)
    return user


def user_update(
    *, user: User, name: str | None = None, language: str | None = None, timezone_name: str | None = None
) -> User:
    fields = []
    if name is not None:
        user.name = name.strip()
        fields.append("name")
    if language is not None:
        user.language = language
        fields.append("language")
    if timezone_name is not None:
        user.timezone = timezone_name
        fields.append("timezone")
    if fields:
        with transaction.atomic():
            user.save(update_fields=fields)
    return user


def token_pair_for(user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def _throttle_keys(scope: str, *, email: str, client_address: str) -> tuple[str, str]:
    """The per-address and per-account counter keys of a throttled flow (`login`, `reset`). The
    email is hashed: no address book of guessed emails sits in Redis."""
    digest = hashlib.sha256(email.encode()).hexdigest()[:32]
    return f"{scope}:addr:{client_address}", f"{scope}:acct:{digest}"


def auth_authenticate(*, email: str, password: str, client_address: str) -> User:
    """Checks credentials for the API's login and the admin's sign-in form alike, throttled:

    - per client address: more than LOGIN_FAILURES_PER_ADDRESS failed attempts within
      LOGIN_THROTTLE_WINDOW seconds and the address is refused (429 `throttled`) until the
      window ends;
    - per account: an existing account locks after LOGIN_MAX_FAILURES failures in a row for
      LOGIN_LOCKOUT (the database lock staff can lift in the admin); an email with no account
      is refused after LOGIN_FAILURES_PER_ACCOUNT failures within the window, with the same
      answer (429 `account_locked`), so the lock reveals nothing about which emails exist.

    Every lock ends by itself (a cool-off, never a permanent lock-out); attempts while refused do
    not extend it. Counters live in Redis (common.throttling); with Redis down sign-in fails
    closed with a 503. The attempt is counted before the password is checked, so a burst of
    parallel guesses cannot all slip under the limit; a success gives its count back."""
    email = normalize_email(email)
    window = settings.LOGIN_THROTTLE_WINDOW
    address_key, account_key = _throttle_keys("login", email=email, client_address=client_address)
    by_address = throttling.counter_hit(address_key, window=window)
    by_account = throttling.counter_hit(account_key, window=window)
    if by_address.count > settings.LOGIN_FAILURES_PER_ADDRESS:
        logger.warning("sign-in throttled for a client address")
        raise throttling.throttled(retry_after=by_address.retry_after)
    now = timezone.now()
    locked_for: float | None = None
    authenticated: User | None = None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email=email).first()
        if user is None:
            if by_account.count > settings.LOGIN_FAILURES_PER_ACCOUNT:
                locked_for = by_account.retry_after
            else:
                make_password(_TIMING_DUMMY_PASSWORD)
        elif user.is_locked(now):
            locked_for = (user.locked_until - now).total_seconds()  # type: ignore[operator]
        elif user.check_password(password) and user.is_active:
            if user.failed_login_count or user.locked_until:
                user.failed_login_count = 0
                user.locked_until = None
                user.save(update_fields=["failed_login_count", "locked_until"])
            authenticated = user
        else:
            user.failed_login_count += 1
            if user.failed_login_count >= settings.LOGIN_MAX_FAILURES:
                user.locked_until = now + settings.LOGIN_LOCKOUT
                user.failed_login_count = 0
                logger.warning("account locked after repeated failed logins user=%s", user.id)
            user.save(update_fields=["failed_login_count", "locked_until"])
    if locked_for is not None:
        raise AccountLocked(detail=_("Too many failed logins; the account is locked for a while."), wait=locked_for)
    if authenticated is None:
        raise exceptions.AuthenticationFailed(_("Email or password is wrong."), "invalid_credentials")
    throttling.counter_release(address_key)
    throttling.counter_clear(account_key)
    return authenticated


def auth_login(*, email: str, password: str, client_address: str) -> TokenPair:
    """Signs in through the API: auth_authenticate's checks and throttles, then a token pair.
    The failure counter is committed before the error is raised."""
    user = auth_authenticate(email=email, password=password, client_address=client_address)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return token_pair_for(user)


class _PresentedRefreshToken(RefreshToken):
    """A refresh token as presented by a client: signature, expiry and type are checked, the
    blacklist is not. Its callers look at the blacklist themselves: refresh to tell a reused
    token (theft) from a bad one, logout to stay idempotent."""

    def check_blacklist(self) -> None:
        return None


def _refresh_token_from(raw: str) -> RefreshToken:
    try:
        return _PresentedRefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise exceptions.AuthenticationFailed(_("The refresh token is invalid or expired."), "token_not_valid") from exc


def _refresh_grace_key(jti: str) -> str:
    return f"refresh-grace:{jti}"


def _refresh_grace_remember(*, jti: str, pair: TokenPair) -> None:
    """Keeps a rotation's result for REFRESH_REUSE_GRACE seconds. Best effort: with Redis down a
    second tab's refresh is refused like any reuse (below)."""
    try:
        redis_client().set(_refresh_grace_key(jti), json.dumps(asdict(pair)), ex=max(settings.REFRESH_REUSE_GRACE, 1))
    except redis.RedisError as exc:
        logger.warning("refresh rotation not remembered for the reuse grace (Redis): %s", exc)


def _refresh_grace_recall(jti: str) -> TokenPair | None:
    """The pair a rotation of `jti` answered within the grace window, else None. With Redis down
    a reuse cannot be told from a second tab: ServiceUnavailable, and nothing is revoked."""
    if settings.REFRESH_REUSE_GRACE <= 0:
        return None
    try:
        raw = redis_client().get(_refresh_grace_key(jti))
    except redis.RedisError as exc:
        logger.warning("refresh reuse grace unavailable (Redis): %s", exc)
        raise ServiceUnavailable(_("Sessions cannot be refreshed for a moment; try again shortly.")) from exc
    return TokenPair(**json.loads(raw)) if raw else None


def auth_refresh(*, refresh: str) -> TokenPair:
    """Rotates a refresh token: the presented one is blacklisted and a new pair is issued.

    The outstanding-token row is locked so two concurrent refreshes with one token cannot both
    rotate it. The rotation's pair is remembered for REFRESH_REUSE_GRACE seconds (written before
    the lock is released, so a refresh waiting on the lock finds it): the same token presented
    again within that window (two tabs refreshing at once) gets the same pair. Presented again
    later, a used token signals theft: every token of that user is revoked."""
    token = _refresh_token_from(refresh)
    user_id: int = token.payload["user_id"]
    jti: str = token["jti"]
    pair: TokenPair | None = None
    with transaction.atomic():
        outstanding, _created = OutstandingToken.objects.select_for_update().get_or_create(
            jti=jti,
            defaults={"user_id": user_id, "token": refresh, "expires_at": datetime_from_epoch(token["exp"])},
        )
        reused = BlacklistedToken.objects.filter(token=outstanding).exists()
        user = User.objects.filter(pk=user_id).first()
        # A token already dead by deactivation or a password change proves nothing about the
        # current sessions (a second device after a password change): refuse it, revoke nothing.
        valid = (
            user is not None and user.is_active and token.get("hash_password") == get_md5_hash_password(user.password)
        )
        if valid and not reused:
            BlacklistedToken.objects.create(token=outstanding)
            pair = token_pair_for(user)  # type: ignore[arg-type]
            _refresh_grace_remember(jti=jti, pair=pair)
    if user is None or not valid:
        raise exceptions.AuthenticationFailed(_("The refresh token is no longer valid."), "token_not_valid")
    if pair is not None:
        return pair
    again = _refresh_grace_recall(jti)
    if again is not None:
        logger.info("refresh token presented again within the grace window user=%s", user.id)
        return again
    logger.warning("refresh token reused; revoking every token of user=%s", user.id)
    with transaction.atomic():
        user_tokens_revoke(user=user)
        _emit_revoked(user=user, actor=None, reason="logout")
    raise exceptions.AuthenticationFailed(_("The refresh token was already used."), "token_not_valid")


def auth_logout(*, refresh: str) -> User | None:
    """Blacklists the presented refresh token (idempotent for one already blacklisted)."""
    token = _refresh_token_from(refresh)
    with transaction.atomic():
        token.blacklist()
        user = User.objects.filter(pk=token.payload["user_id"]).first()
        if user is not None:
            _emit_revoked(user=user, actor=user, reason="logout")
    return user


def _emit_revoked(*, user: User, actor: User | None, reason: str) -> None:
    """`user.revoked`: the realtime relay closes every socket of the user."""
    events.event_emit(
        event_type=EventType.USER_REVOKED,
        actor=actor,
        data=UserRevokedData(user_id=user.pk, reason=reason),  # type: ignore[arg-type]
        audience=events.Audience(users=[user], system=True),
    )


def user_tokens_revoke(*, user: User) -> int:
    """Blacklists every outstanding refresh token of the user; access tokens die with their short
    lifetime or, after a password change, at once (they carry a digest of the password hash)."""
    with transaction.atomic():
        pending = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
        created = BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=token) for token in pending], ignore_conflicts=True
        )
    return len(created)


def user_change_password(*, user: User, current_password: str, new_password: str) -> TokenPair:
    """Sets a new password, revokes all of the user's tokens and returns a fresh pair for the
    caller's own session."""
    if not user.check_password(current_password):
        raise exceptions.ValidationError({"current_password": [_("The current password is wrong.")]})
    try:
        validate_password(new_password, user)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError({"new_password": exc.messages}) from exc
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user_tokens_revoke(user=user)
        _emit_revoked(user=user, actor=user, reason="password_change")
    return token_pair_for(user)


def user_deactivate(*, user: User, actor: User | None = None) -> User:
    """Deactivates the account: every token revoked, every live socket closed."""
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        user_tokens_revoke(user=user)
        _emit_revoked(user=user, actor=actor, reason="deactivated")
    return user


def user_password_changed_by_staff(*, user: User, actor: User) -> None:
    """After staff set (or disabled) the user's password in the Django admin's password form:
    every token revoked, every live socket closed, as user_change_password does for the user.
    Precondition: inside the transaction that saved the new password."""
    with transaction.atomic():
        user_tokens_revoke(user=user)
        _emit_revoked(user=user, actor=actor, reason="password_change")


def users_unlock(*, users: QuerySet[User]) -> int:
    with transaction.atomic():
        return users.update(locked_until=None, failed_login_count=0)


def tokens_prune_expired() -> int:
    """Deletes refresh-token records past their expiry, with their blacklist entries (the
    clean-up job; simplejwt's `flushexpiredtokens` does the same). An expired token is refused
    for its expiry alone, so its blacklist entry guards nothing any more."""
    with transaction.atomic():
        deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


# --- Mailed account tokens: email verification, password reset -----------------------------------

# The Celery task that mails an account token (mailing.tasks.account_email_send), named rather
# than imported: mailing depends on accounts, not the other way round.
ACCOUNT_EMAIL_TASK = "mailing.account_email_send"


class AccountTokenRefused(BadRequest):
    default_code = "token_invalid"


def account_token_value(*, salt: str) -> str:
    """The mailed token of an AccountToken, recomputed from its salt and the server secret (the
    mail worker calls this). Only SHA-256(token) is stored, for lookup."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"account:{salt}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def account_token_issue(*, user: User, purpose: AccountTokenPurpose, ttl: timedelta) -> AccountToken:
    """Stores a new single-use token for the user and, after commit, has the Celery worker mail
    it (through mailing's EmailDelivery: once, retried on temporary SMTP errors). A broker that
    is down loses only the mail, never the request: the user can ask again."""
    salt = secrets.token_urlsafe(24)
    with transaction.atomic():
        token = AccountToken.objects.create(
            user=user,
            purpose=purpose,
            salt=salt,
            token_hash=token_hash(account_token_value(salt=salt)),
            expires_at=timezone.now() + ttl,
        )
        transaction.on_commit(lambda: current_app.send_task(ACCOUNT_EMAIL_TASK, args=[token.pk]), robust=True)
    return token


def _account_token_consume(*, token: str, purpose: AccountTokenPurpose) -> AccountToken:
    """Locks and checks a presented token; the caller marks it used in the same transaction.
    Precondition: inside a transaction."""
    row = (
        AccountToken.objects.select_for_update()
        .select_related("user")
        .filter(token_hash=token_hash(token), purpose=purpose)
        .first()
    )
    if row is None or not row.user.is_active:
        raise AccountTokenRefused(_("This link is not valid."), "token_invalid")
    if row.used_at is not None:
        raise AccountTokenRefused(_("This link was already used."), "token_used")
    if row.is_expired():
        raise AccountTokenRefused(_("This link has expired; ask for a new one."), "token_expired")
    return row


def user_email_mark_verified(*, user: User) -> User:
    """Records that the user reads mail sent to their address (kept from the first proof)."""
    with transaction.atomic():
        if user.email_verified_at is None:
            user.email_verified_at = timezone.now()
            User.objects.filter(pk=user.pk, email_verified_at__isnull=True).update(
                email_verified_at=user.email_verified_at
            )
    return user


def user_email_change_by_staff(*, user: User, email: str) -> User:
    """Staff give the account another address (the admin's user form): nobody has shown they read
    it yet, so it is unverified until the link mailed to it now is opened, like a new account's.
    The form checked that no other account has it."""
    with transaction.atomic():
        user.email = normalize_email(email)
        user.email_verified_at = None
        user.save(update_fields=["email", "email_verified_at"])
        email_verification_send(user=user)
    return user


def email_verification_send(*, user: User) -> AccountToken:
    """Mails the user a link that verifies their address (valid EMAIL_VERIFICATION_TTL)."""
    return account_token_issue(user=user, purpose=AccountTokenPurpose.VERIFY_EMAIL, ttl=settings.EMAIL_VERIFICATION_TTL)


def email_verification_resend(*, user: User) -> AccountToken:
    """Another verification mail, at most one per EMAIL_VERIFICATION_RESEND_INTERVAL seconds per
    user (429 with Retry-After). 400 `already_verified` once the address is verified."""
    if user.email_verified:
        raise BadRequest(_("Your email address is already verified."), "already_verified")
    window = throttling.counter_hit(f"verify-email:{user.pk}", window=settings.EMAIL_VERIFICATION_RESEND_INTERVAL)
    if window.count > 1:
        raise throttling.throttled(retry_after=window.retry_after)
    return email_verification_send(user=user)


def email_verify(*, token: str) -> User:
    """Verifies the address the token was mailed to. 400 `token_invalid`, `token_used` or
    `token_expired` otherwise. The user's other verification tokens stay valid until they expire
    (each says the same thing)."""
    with transaction.atomic():
        row = _account_token_consume(token=token, purpose=AccountTokenPurpose.VERIFY_EMAIL)
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
        user = user_email_mark_verified(user=row.user)
    logger.info("email verified user=%s", user.pk)
    return user


def password_reset_request(*, email: str, client_address: str) -> None:
    """Mails a password reset link (valid PASSWORD_RESET_TTL) when an active account has the
    address; says nothing either way, so the answer reveals no account. Throttled per client
    address (429 past PASSWORD_RESETS_PER_ADDRESS per window) and per email (past
    PASSWORD_RESETS_PER_EMAIL the request is accepted and nothing is mailed: nobody's inbox is
    flooded, and the answer stays the same for addresses with and without an account)."""
    email = normalize_email(email)
    window = settings.PASSWORD_RESET_THROTTLE_WINDOW
    address_key, account_key = _throttle_keys("reset", email=email, client_address=client_address)
    by_address = throttling.counter_hit(address_key, window=window)
    if by_address.count > settings.PASSWORD_RESETS_PER_ADDRESS:
        raise throttling.throttled(retry_after=by_address.retry_after)
    if throttling.counter_hit(account_key, window=window).count > settings.PASSWORD_RESETS_PER_EMAIL:
        logger.warning("password reset mails for one address throttled")
        return
    user = User.objects.filter(email=email, is_active=True).first()
    if user is None:
        return
    account_token_issue(user=user, purpose=AccountTokenPurpose.PASSWORD_RESET, ttl=settings.PASSWORD_RESET_TTL)
    logger.info("password reset mailed user=%s", user.pk)


def password_reset_confirm(*, token: str, password: str) -> User:
    """Sets a new password with a mailed reset token: the token and the user's other reset tokens
    are spent, every session ends (refresh tokens blacklisted, `user.revoked` closes the
    sockets), a sign-in lock is lifted, and the address counts as verified (the mail was read).
    400 `token_*` for a bad token, field errors for a weak password (the token stays usable)."""
    with transaction.atomic():
        row = _account_token_consume(token=token, purpose=AccountTokenPurpose.PASSWORD_RESET)
        user = row.user
        try:
            validate_password(password, user)
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
        user.failed_login_count = 0
        user.locked_until = None
        user.save(update_fields=["password", "failed_login_count", "locked_until"])
        AccountToken.objects.filter(user=user, purpose=AccountTokenPurpose.PASSWORD_RESET, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        user_email_mark_verified(user=user)
        user_tokens_revoke(user=user)
        _emit_revoked(user=user, actor=user, reason="password_change")
    logger.info("password reset user=%s", user.pk)
    return user
