"""The transactional outbox: events and jobs are recorded with the change, published right
after COMMIT, relayed when that failed, in commit order per session, and never twice."""

from __future__ import annotations

import json

import pytest
import redis
from sqlalchemy import text

from supportapp import jobs, outbox
from supportapp.extensions import db, redis_client
from supportapp.realtime import bus
from tests.helpers import send


def stream(redis_url: str) -> list[tuple[str, dict[str, str]]]:
    return redis.Redis.from_url(redis_url, decode_responses=True).xrange(bus.EVENT_STREAM)


def messages_in(entries) -> list[str]:
    return [
        json.loads(fields["data"])["message"]["message"]
        for _id, fields in entries
        if fields["event"] == "chat_message_received"
    ]


def outbox_rows(app) -> list[tuple[int, str, str | None]]:
    with app.app_context():
        rows = db.session.execute(
            text("SELECT id, kind, ordering_key FROM event_outbox ORDER BY id")
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def relay(app) -> int:
    with app.app_context():
        return outbox.relay_once(grace=0)


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, dict, str | None]]:
    """Jobs handed to the broker (recorded instead of sent)."""
    calls: list[tuple[str, dict, str | None]] = []
    monkeypatch.setattr(
        jobs, "send", lambda name, kwargs, task_id=None: calls.append((name, kwargs, task_id))
    )
    return calls


@pytest.fixture
def redis_down(monkeypatch):
    """`.down()`: Redis refuses every publication until `.up()`."""

    class Switch:
        original = staticmethod(bus.publish_once)

        def down(self) -> None:
            monkeypatch.setattr(bus, "publish_once", self.fail)

        @staticmethod
        def fail(*_args, **_kwargs):
            raise redis.ConnectionError("Redis is down (simulated)")

        def up(self) -> None:
            monkeypatch.setattr(bus, "publish_once", self.original)
            redis_client.recovered()

    return Switch()


def test_the_request_publishes_at_once_and_leaves_nothing_behind(
    app, client, make_account, open_session, redis_url, sent
):
    user = make_account("user")
    session = open_session(user, "hola")
    assert messages_in(stream(redis_url)) == ["hola"]
    assert [e[1]["event"] for e in stream(redis_url)] == ["chat_created", "chat_message_received"]
    assert outbox_rows(app) == []
    assert [name for name, _, _ in sent] == [jobs.NOTIFY_SESSIONS_QUEUED]
    assert sent[0][1] == {"session_ids": [session["id"]], "reason": "created"}
    assert sent[0][2].startswith("outbox-")
    assert relay(app) == 0


def test_events_left_behind_are_relayed_once_in_commit_order(
    app, client, make_account, open_session, redis_url, redis_down, sent
):
    user = make_account("user")
    session = open_session(user, "uno")  # Redis still up: published at once
    redis_down.down()
    for text_ in ("dos", "tres"):
        response = send(client, session["id"], user, text_)
        assert response.status_code == 201  # PostgreSQL is the truth: the write succeeded
    assert messages_in(stream(redis_url)) == ["uno"]
    kept = outbox_rows(app)
    assert [kind for _, kind, _ in kept] == ["event", "event"]
    assert {key for _, _, key in kept} == {f"session:{session['id']}"}

    with pytest.raises(redis.RedisError), app.app_context():
        outbox.relay_once(grace=0)
    assert len(outbox_rows(app)) == 2  # nothing lost while Redis is still down

    redis_down.up()
    assert relay(app) == 2
    assert messages_in(stream(redis_url)) == ["uno", "dos", "tres"]
    assert outbox_rows(app) == []
    assert relay(app) == 0
    assert messages_in(stream(redis_url)) == ["uno", "dos", "tres"]


def test_a_later_event_of_the_same_session_waits_for_the_earlier_one(
    app, client, make_account, open_session, redis_url, redis_down, sent
):
    user, other = make_account("user"), make_account("user")
    session = open_session(user, "uno")
    other_session = open_session(other, "otro")
    redis_down.down()
    send(client, session["id"], user, "dos")
    redis_down.up()  # Redis answers again before the relay ran

    send(client, session["id"], user, "tres")
    send(client, other_session["id"], other, "otro 2")
    # "tres" did not overtake "dos"; the other session is not held back.
    assert messages_in(stream(redis_url)) == ["uno", "otro", "otro 2"]
    assert relay(app) == 2
    assert messages_in(stream(redis_url)) == ["uno", "otro", "otro 2", "dos", "tres"]


def test_an_event_published_twice_enters_the_stream_once(app, redis_url):
    event = bus.Event("chat_priority_changed", {"sessionId": "s1"})
    with app.app_context():
        client = redis_client.client
        first = bus.publish_once(client, [(41, event.to_fields())], 1000)
        again = bus.publish_once(client, [(41, event.to_fields()), (42, event.to_fields())], 1000)
    assert again[0] == first[0]
    assert [entry_id for entry_id, _ in stream(redis_url)] == [first[0], again[1]]


def test_the_relay_skips_what_the_request_already_published(
    app, make_account, open_session, redis_url, sent, monkeypatch
):
    # The request published but died before deleting its rows: the relay finds them again.
    monkeypatch.setattr(outbox, "_forget", lambda ids: None)
    open_session(make_account("user"), "hola")
    assert len(outbox_rows(app)) == 3  # two events and the notification job
    assert relay(app) == 3
    assert messages_in(stream(redis_url)) == ["hola"]  # not twice
    assert [name for name, _, _ in sent].count(jobs.NOTIFY_SESSIONS_QUEUED) == 2  # at least once


def test_jobs_the_broker_refused_are_sent_by_the_relay(
    app, make_account, open_session, redis_url, monkeypatch
):
    calls: list[str] = []

    def broker_down(name, kwargs, task_id=None):
        raise ConnectionError("broker down (simulated)")

    monkeypatch.setattr(jobs, "send", broker_down)
    session = open_session(make_account("user"), "hola")
    assert messages_in(stream(redis_url)) == ["hola"]  # the events went out
    assert [kind for _, kind, _ in outbox_rows(app)] == ["task"]
    assert not redis_client.healthy()  # the next requests do not wait for the broker

    monkeypatch.setattr(jobs, "send", lambda name, kwargs, task_id=None: calls.append(kwargs))
    assert relay(app) == 1
    assert calls == [{"session_ids": [session["id"]], "reason": "created"}]
    assert outbox_rows(app) == []


def test_after_a_failure_requests_do_not_wait_for_redis(
    app, client, make_account, open_session, redis_url, redis_down, sent, monkeypatch
):
    user = make_account("user")
    session = open_session(user, "uno")
    attempts: list[int] = []
    monkeypatch.setattr(
        bus, "publish_once", lambda *a, **k: attempts.append(1) or redis_down.fail()
    )
    for text_ in ("dos", "tres", "cuatro"):
        send(client, session["id"], user, text_)
    assert attempts == [1]  # only the first request tried; the others left it to the relay
    redis_down.up()
    assert relay(app) == 3
    assert messages_in(stream(redis_url)) == ["uno", "dos", "tres", "cuatro"]


def test_a_rolled_back_change_records_nothing(app, make_account):
    from supportapp.services.unit_of_work import unit_of_work

    with app.app_context(), pytest.raises(RuntimeError), unit_of_work() as uow:
        uow.emit(bus.Event("chat_priority_changed", {"sessionId": "s1"}))
        uow.enqueue(jobs.AUTO_ASSIGN)
        raise RuntimeError("the use case failed")
    assert outbox_rows(app) == []


def test_only_one_relay_works_at_a_time(app, make_account, open_session, redis_down, sent):
    redis_down.down()
    open_session(make_account("user"), "hola")
    redis_down.up()
    with app.app_context():
        with db.engine.connect() as holder, holder.begin():
            holder.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": outbox.RELAY_LOCK_KEY}
            )
            assert outbox.relay_once(grace=0) == 0  # another relay holds the lock
        assert outbox.relay_once(grace=0) == 3


def test_a_later_event_goes_out_at_once_when_the_earlier_one_is_published_meanwhile(
    app, client, make_account, open_session, redis_url, redis_down, sent, monkeypatch
):
    user = make_account("user")
    session = open_session(user, "uno")
    redis_down.down()
    send(client, session["id"], user, "dos")
    redis_down.up()

    pauses: list[float] = []

    def pause(seconds: float) -> None:  # meanwhile, whoever holds "dos" publishes it
        pauses.append(seconds)
        relay(app)

    monkeypatch.setattr(outbox.time, "sleep", pause)
    send(client, session["id"], user, "tres")
    assert len(pauses) == 1
    assert messages_in(stream(redis_url)) == ["uno", "dos", "tres"]
    assert outbox_rows(app) == []


def test_where_a_relay_runs_the_next_write_deletes_the_handed_over_rows(
    app, client, make_account, open_session, redis_url, sent, monkeypatch
):
    monkeypatch.setitem(app.extensions, "outbox_relay", object())  # as in a web process
    user = make_account("user")
    session = open_session(user, "uno")
    first = [row_id for row_id, _, _ in outbox_rows(app)]
    assert len(first) == 3  # published, not yet deleted: no round trip of its own
    send(client, session["id"], user, "dos")
    # That write deleted the first rows in its own statement, and was not held back by them.
    assert [row_id for row_id, _, _ in outbox_rows(app)] == [max(first) + 1]
    assert messages_in(stream(redis_url)) == ["uno", "dos"]
    with app.app_context():
        outbox._flush_handed()  # what the relay thread does a moment later
    assert outbox_rows(app) == []
