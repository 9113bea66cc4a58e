"""The relay's side of sharded pub/sub on a single node: it listens on the users' tagged shard
channels only (a lost session is in test_redis_outage.py, a Cluster in test_cluster.py)."""

from taskflow_contracts.redis_layout import tagged_user_channel

from tests.fastapi_realtime.support import event_id_of, new_user_id, publish_task

FRAME = '{"type":"event","cursor":"9999999999999-0","event":{"type":"task.created"},"notification":null}'


def test_frames_come_from_the_users_shard_channel_only(relay, sockets, redis_client):
    user_id = new_user_id()
    sock, _ = sockets.join(relay, user_id)

    # Subscribed with SSUBSCRIBE on the tagged channel; nothing on the classic pub/sub names.
    assert redis_client.pubsub_shardnumsub(tagged_user_channel(user_id))[0][1] == 1
    assert redis_client.pubsub_numsub(tagged_user_channel(user_id), f"user:{user_id}") == [
        (tagged_user_channel(user_id), 0),
        (f"user:{user_id}", 0),
    ]
    # Frames published the old way (PUBLISH on user:7 or on user:{7}) reach nobody ...
    redis_client.publish(f"user:{user_id}", FRAME)
    redis_client.publish(tagged_user_channel(user_id), FRAME)
    # ... while a delivery (SPUBLISH inside DELIVER_LUA) does, and is the first frame to arrive.
    event_id = publish_task(redis_client, [user_id])
    assert event_id_of(sock.recv()) == event_id
    assert sock.silent(0.2)
