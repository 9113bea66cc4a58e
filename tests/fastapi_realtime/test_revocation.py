"""`user.revoked` (logout, password change, deactivation) closes the user's sockets with 4401
on every relay instance within a second, and keeps a ticket from before it out."""

import time
from datetime import UTC, datetime, timedelta

from taskflow_contracts.redis_layout import tagged_user_stream

from tests.fastapi_realtime.support import (
    event_id_of,
    new_user_id,
    publish,
    publish_task,
    sign_ticket,
    user_revoked,
)

UNAUTHORIZED = 4401


def test_revocation_closes_the_users_sockets_on_every_instance_within_a_second(relay, relay_b, sockets, redis_client):
    user_id, bystander = new_user_id(), new_user_id()
    on_a, _ = sockets.join(relay, user_id)
    on_b, _ = sockets.join(relay_b, user_id)
    also_on_a, _ = sockets.join(relay, user_id)
    bystander_on_a, _ = sockets.join(relay, bystander)

    publish(redis_client, [user_id], user_revoked(user_id))

    for sock in (on_a, on_b, also_on_a):
        assert sock.close_code(timeout=1.0) == UNAUTHORIZED
    # Everyone else carries on.
    event_id = publish_task(redis_client, [bystander])
    assert event_id_of(bystander_on_a.recv()) == event_id


def test_a_ticket_issued_before_the_revocation_is_refused(relay, sockets, redis_client):
    # Minted, then the user logged out, then the ticket is presented (still unexpired).
    user_id = new_user_id()
    ticket = sign_ticket(user_id, iat=int(time.time()) - 5, exp=int(time.time()) + 25)
    publish(redis_client, [user_id], user_revoked(user_id))

    assert sockets.open(relay, ticket).close_code() == UNAUTHORIZED


def test_an_older_revocation_does_not_close_a_socket_opened_after_it(relay, sockets, redis_client):
    # Logged out yesterday, logged in again today: the old event is history, replayed as such.
    user_id = new_user_id()
    publish(redis_client, [user_id], user_revoked(user_id, occurred_at=datetime.now(UTC) - timedelta(days=1)))

    sock, _ = sockets.join(relay, user_id, cursor="0-0")

    frame = sock.recv()
    assert frame["type"] == "event"
    assert frame["event"]["type"] == "user.revoked"
    event_id = publish_task(redis_client, [user_id])
    assert event_id_of(sock.recv()) == event_id


def test_a_revocation_missed_while_away_closes_the_reconnected_socket(relay, sockets, redis_client):
    user_id = new_user_id()
    ticket = sign_ticket(user_id, iat=int(time.time()) - 2)
    publish_task(redis_client, [user_id])
    cursor = redis_client.xrevrange(tagged_user_stream(user_id), count=1)[0][0]
    publish(redis_client, [user_id], user_revoked(user_id))

    assert sockets.open(relay, ticket, cursor=cursor).close_code() == UNAUTHORIZED
