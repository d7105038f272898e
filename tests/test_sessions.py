"""SessionStore: shared sessions, sliding expiry on a SimClock, rotation, JSON-only values."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalekit.clock import SimClock
from scalekit.sessions import SessionStore, encode


def make_store(redis, ns, ttl: float = 100.0) -> tuple[SessionStore, SimClock]:
    clock = SimClock(1_000.0)
    return SessionStore(redis, ns.prefix, ttl=ttl, clock=clock), clock


def test_every_server_sees_every_session(redis, ns) -> None:
    clock = SimClock()
    servers = [SessionStore(redis, ns.prefix, clock=clock) for _ in range(3)]
    session_id = servers[0].create({"userId": 123, "roles": ["reader"]})
    assert [s.get(session_id) for s in servers] == [{"userId": 123, "roles": ["reader"]}] * 3
    other = SessionStore(redis, ns.prefix + "-other", clock=clock)
    assert other.get(session_id) is None


def test_keys_start_with_the_prefix_and_carry_a_backstop_ttl(redis, ns) -> None:
    store, _ = make_store(redis, ns, ttl=100.0)
    session_id = store.create({"userId": 1})
    assert ns.keys() == [f"{ns.prefix}:session:{session_id}"]
    assert 0 < redis.pttl(store.key(session_id)) <= 3_700_000


def test_the_backstop_outlives_the_logical_ttl(redis, ns) -> None:
    """Redis's real-time TTL must never end a session that the store's clock says is live."""
    store, clock = make_store(redis, ns, ttl=100.0)
    session_id = store.create({"userId": 1})
    assert redis.pttl(store.key(session_id)) > 3_600_000  # ttl + an hour of margin
    clock.advance(50.0)
    assert store.get(session_id) == {"userId": 1}
    assert redis.pttl(store.key(session_id)) > 3_600_000
    long_lived = SessionStore(redis, ns.prefix, ttl=7200.0, clock=clock)
    assert redis.pttl(long_lived.key(long_lived.create({"n": 1}))) > 7200_000 + 3_600_000 - 1000


def test_ids_are_long_unique_and_cookie_safe(redis, ns) -> None:
    store, _ = make_store(redis, ns)
    ids = {store.create({"n": n}) for n in range(50)}
    assert len(ids) == 50
    for session_id in ids:
        assert len(session_id) >= 43  # 32 random bytes in URL-safe base64
        assert set(session_id) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_idle_sessions_expire_after_ttl(redis, ns) -> None:
    store, clock = make_store(redis, ns, ttl=100.0)
    session_id = store.create({"userId": 7})
    clock.advance(99.9)
    assert store.expires_in(session_id) == pytest.approx(0.1)
    clock.advance(0.1)
    assert store.expires_in(session_id) is None
    assert store.get(session_id) is None
    assert redis.exists(store.key(session_id)) == 0


def test_reads_slide_the_deadline(redis, ns) -> None:
    store, clock = make_store(redis, ns, ttl=100.0)
    session_id = store.create({"userId": 7})
    for _ in range(10):
        clock.advance(90.0)
        assert store.get(session_id) == {"userId": 7}
    assert store.expires_in(session_id) == pytest.approx(100.0)
    clock.advance(100.0)
    assert store.get(session_id) is None


def test_rotate_moves_the_session_and_kills_the_old_id(redis, ns) -> None:
    store, clock = make_store(redis, ns, ttl=100.0)
    old = store.create({"userId": 7, "role": "user"})
    clock.advance(50.0)
    new = store.rotate(old, {"userId": 7, "role": "admin"})
    assert new is not None and new != old
    assert store.get(old) is None
    assert store.get(new) == {"userId": 7, "role": "admin"}
    assert store.expires_in(new) == pytest.approx(100.0)
    kept = store.rotate(new)
    assert store.get(kept) == {"userId": 7, "role": "admin"}
    assert ns.keys() == [store.key(kept)]


def test_rotate_refuses_unknown_and_expired_sessions(redis, ns) -> None:
    store, clock = make_store(redis, ns, ttl=10.0)
    assert store.rotate("x" * 43) is None
    session_id = store.create({"userId": 1})
    clock.advance(10.0)
    assert store.rotate(session_id, {"userId": 2}) is None
    assert ns.keys() == []


def test_login_never_reuses_the_pre_login_id(redis, ns) -> None:
    store, _ = make_store(redis, ns)
    anonymous = store.create({"cart": ["book"]})
    authenticated = store.login({"userId": 9, "cart": ["book"]}, previous=anonymous)
    assert authenticated != anonymous
    assert store.get(anonymous) is None
    assert store.get(authenticated) == {"userId": 9, "cart": ["book"]}


def test_save_replaces_data_of_live_sessions_only(redis, ns) -> None:
    store, clock = make_store(redis, ns, ttl=10.0)
    session_id = store.create({"n": 1})
    assert store.save(session_id, {"n": 2}) is True
    assert store.get(session_id) == {"n": 2}
    clock.advance(10.0)
    assert store.save(session_id, {"n": 3}) is False
    assert ns.keys() == []


def test_destroy_logs_out(redis, ns) -> None:
    store, _ = make_store(redis, ns)
    session_id = store.create({"userId": 1})
    assert store.destroy(session_id) is True
    assert store.destroy(session_id) is False
    assert store.get(session_id) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"when": dt.datetime(2026, 1, 1)},
        {"pair": (1, 2)},
        {1: "int key"},
        {"x": float("nan")},
        {"x": {1, 2}},
        ["not", "a", "dict"],
        "a string",
        {"big": 10**5000},
        "deep",
    ],
)
def test_non_json_data_is_refused_and_nothing_is_written(redis, ns, bad) -> None:
    store, _ = make_store(redis, ns)
    good = store.create({"ok": True})
    if bad == "deep":  # nested past Python's recursion limit: a RecursionError, not a clear message
        bad = nested = {}
        for _ in range(5_000):
            nested["a"] = nested = {}
    with pytest.raises(TypeError, match="session data"):
        store.create(bad)
    with pytest.raises(TypeError, match="session data"):
        store.save(good, bad)
    with pytest.raises(TypeError, match="session data"):
        store.rotate(good, bad)
    with pytest.raises(TypeError, match="session data"):
        store.login(bad, previous=good)
    assert store.get(good) == {"ok": True}
    assert ns.keys() == [store.key(good)]


@pytest.mark.parametrize("forged", ["", "short", "*", "a:b:c" * 10, "../" * 20, "x" * 200])
def test_malformed_ids_find_nothing(redis, ns, forged) -> None:
    store, _ = make_store(redis, ns)
    store.create({"userId": 1})
    assert store.get(forged) is None
    assert store.rotate(forged) is None
    assert store.save(forged, {"userId": 2}) is False
    assert store.destroy(forged) is False
    assert len(ns.keys()) == 1


def test_an_id_with_a_trailing_newline_is_malformed(redis, ns) -> None:
    """``^...$`` would let "id\\n" through; the id must match in full before Redis is asked."""
    store, _ = make_store(redis, ns)
    forged = "x" * 43 + "\n"
    redis.hset(store.key(forged), mapping={"data": '{"userId": 1}', "expires": "1e18", "created": "0"})
    assert store.get(forged) is None
    assert store.expires_in(forged) is None
    assert store.rotate(forged) is None
    assert store.destroy(forged) is False
    assert redis.exists(store.key(forged)) == 1


@pytest.mark.parametrize("missing", [None, 12345, b"x" * 43, ["x" * 43]])
def test_an_id_that_is_not_a_str_is_no_session(redis, ns, missing) -> None:
    """No cookie (None) or a value of the wrong type finds nothing instead of raising."""
    store, _ = make_store(redis, ns)
    store.create({"userId": 1})
    assert store.get(missing) is None
    assert store.destroy(missing) is False
    assert store.expires_in(missing) is None
    assert store.rotate(missing) is None
    assert store.save(missing, {"userId": 2}) is False
    assert len(ns.keys()) == 1


def test_a_session_read_often_still_ends_at_max_age(redis, ns) -> None:
    """Sliding expiry alone would keep a stolen, busy session alive forever (OWASP absolute timeout)."""
    clock = SimClock(1_000.0)
    store = SessionStore(redis, ns.prefix, ttl=100.0, max_age=1_000.0, clock=clock)
    session_id = store.create({"userId": 7})
    for _ in range(10):
        clock.advance(90.0)
        assert store.get(session_id) == {"userId": 7}
    assert store.expires_in(session_id) == pytest.approx(100.0)
    clock.advance(90.0)  # 990 s old: the read no longer slides past max_age
    assert store.get(session_id) == {"userId": 7}
    assert store.expires_in(session_id) == pytest.approx(10.0)
    clock.advance(10.0)
    assert store.get(session_id) is None
    assert ns.keys() == []


def test_rotation_keeps_the_absolute_deadline_and_login_starts_a_new_one(redis, ns) -> None:
    clock = SimClock()
    store = SessionStore(redis, ns.prefix, ttl=100.0, max_age=300.0, clock=clock)
    session_id = store.create({"userId": 7})
    for _ in range(3):
        clock.advance(90.0)
        session_id = store.rotate(session_id)
    assert store.expires_in(session_id) == pytest.approx(30.0)
    assert store.save(session_id, {"userId": 7, "role": "admin"}) is True
    clock.advance(30.0)
    assert store.get(session_id) is None
    assert store.save(session_id, {"userId": 8}) is False
    fresh = store.login({"userId": 7}, previous=session_id)
    assert store.expires_in(fresh) == pytest.approx(100.0)
    clock.advance(250.0)
    assert store.rotate(fresh) is None  # 250 s idle is past ttl


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ttl": 0}, "ttl must be"),
        ({"ttl": float("inf")}, "ttl must be"),
        ({"ttl": True}, "ttl must be"),
        ({"max_age": True}, "max_age must be"),
        ({"max_age": 0}, "max_age must be"),
        ({"max_age": float("nan")}, "max_age must be"),
        ({"id_bytes": 8}, "id_bytes"),
        ({"prefix": ""}, "prefix"),
    ],
)
def test_bad_settings_are_explained(redis, kwargs, message) -> None:
    options = {"prefix": "p", **kwargs}
    with pytest.raises(ValueError, match=message):
        SessionStore(redis, **options)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60)
@given(data=st.dictionaries(st.text(max_size=10), json_values, max_size=5))
def test_json_round_trips_exactly(redis, ns, data) -> None:
    store, _ = make_store(redis, ns)
    assert store.get(store.create(data)) == data
    assert encode(data) == encode(store.get(store.rotate(store.create(data))))


def test_works_on_redis_cluster(redis_cluster_url) -> None:
    """Every command touches one key, so sessions spread over a cluster's slots."""
    from redis.cluster import RedisCluster

    client = RedisCluster.from_url(redis_cluster_url, decode_responses=True)
    store = SessionStore(client, f"test-{uuid.uuid4().hex[:12]}", ttl=100.0, clock=SimClock())
    ids = [store.create({"userId": n}) for n in range(20)]
    rotated: list[str | None] = []
    try:
        for n, session_id in enumerate(ids):
            rotated.append(store.rotate(session_id, {"userId": n, "role": "admin"}))
        assert [store.get(session_id) for session_id in ids] == [None] * 20
        assert [store.get(session_id) for session_id in rotated] == [
            {"userId": n, "role": "admin"} for n in range(20)
        ]
        assert len({client.keyslot(store.key(session_id)) for session_id in rotated}) > 1
    finally:
        for session_id in ids + [r for r in rotated if r]:
            store.destroy(session_id)
        client.close()
