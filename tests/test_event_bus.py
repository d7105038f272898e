"""EventBus on Redis Streams: fan-out to every group, sharing inside a group, acks, replay for
a late subscriber, and taking over a dead consumer's messages with XAUTOCLAIM."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalekit.queues import EventBus

SERVICES = ["analytics", "email", "inventory", "payment"]


@pytest.fixture
def bus(redis, ns) -> EventBus:
    return EventBus(redis, ns.prefix)


def orders(n: int) -> list[dict]:
    return [{"type": "OrderCreated", "order_id": i, "total_cents": 1000 + i} for i in range(n)]


def test_every_group_gets_every_event(bus):
    for group in SERVICES:
        assert bus.subscribe("orders", group) is True
    assert bus.subscribe("orders", "email") is False
    ids = [bus.publish("orders", event) for event in orders(5)]
    assert len(set(ids)) == 5
    for group in SERVICES:
        got = bus.read("orders", group, f"{group}-1", count=100)
        assert [m.event for m in got] == orders(5)
        assert [m.id for m in got] == ids
    assert bus.groups("orders") == SERVICES


def test_consumers_in_a_group_share_the_events(bus):
    bus.subscribe("orders", "email")
    for event in orders(7):
        bus.publish("orders", event)
    first = bus.read("orders", "email", "email-1", count=3)
    second = bus.read("orders", "email", "email-2", count=10)
    assert [m.event["order_id"] for m in first] == [0, 1, 2]
    assert [m.event["order_id"] for m in second] == [3, 4, 5, 6]
    assert bus.read("orders", "email", "email-1") == []
    assert bus.pending("orders", "email") == {"email-1": 3, "email-2": 4}
    assert bus.ack("orders", "email", *(m.id for m in first)) == 3
    assert bus.ack("orders", "email", *(m.id for m in first)) == 0
    assert bus.pending("orders", "email") == {"email-2": 4}


def test_late_subscriber_chooses_new_events_or_the_whole_history(bus):
    bus.subscribe("orders", "inventory")
    for event in orders(3):
        bus.publish("orders", event)
    bus.subscribe("orders", "fraud-check")
    bus.subscribe("orders", "audit", start="0")
    bus.publish("orders", {"type": "OrderCreated", "order_id": 99})
    assert [m.event["order_id"] for m in bus.read("orders", "fraud-check", "f1")] == [99]
    assert [m.event["order_id"] for m in bus.read("orders", "audit", "a1")] == [0, 1, 2, 99]
    assert len(bus.read("orders", "inventory", "i1")) == 4, "the existing group is unaffected"


def test_dead_consumers_messages_are_claimed_by_another(bus):
    bus.subscribe("orders", "payment")
    for event in orders(4):
        bus.publish("orders", event)
    lost = bus.read("orders", "payment", "payment-1", count=3)
    assert bus.pending("orders", "payment") == {"payment-1": 3}
    assert bus.claim("orders", "payment", "payment-2", min_idle=3600) == [], "not idle long enough"
    claimed = bus.claim("orders", "payment", "payment-2", min_idle=0)
    assert [m.event for m in claimed] == [m.event for m in lost]
    assert bus.pending("orders", "payment") == {"payment-2": 3}
    assert bus.consume("orders", "payment", "payment-2", lambda m: None, messages=claimed) == 3
    assert bus.consume("orders", "payment", "payment-2", lambda m: None) == 1
    assert bus.pending("orders", "payment") == {}


def test_failing_handler_leaves_the_message_pending(bus):
    bus.subscribe("orders", "email")
    for event in orders(3):
        bus.publish("orders", event)

    def send(message):
        if message.event["order_id"] == 1:
            raise ConnectionError("mail server down")

    assert bus.consume("orders", "email", "email-1", send) == 2
    assert bus.pending("orders", "email") == {"email-1": 1}
    retried = bus.claim("orders", "email", "email-1", min_idle=0)
    assert [m.event["order_id"] for m in retried] == [1]


def test_clear_errors_and_no_partial_writes(bus, ns):
    with pytest.raises(ValueError, match="has not subscribed"):
        bus.read("orders", "nobody", "c1")
    with pytest.raises(ValueError, match="an event is a dict"):
        bus.publish("orders", ["not", "a", "dict"])
    with pytest.raises(ValueError, match="JSON-serialisable"):
        bus.publish("orders", {"at": object()})
    with pytest.raises(ValueError, match="topic is a non-empty string"):
        bus.publish("", {"type": "x"})
    with pytest.raises(ValueError, match="maxlen must be >= 1"):
        EventBus(bus.client, ns.prefix, maxlen=0)
    assert ns.keys() == []


@settings(max_examples=25)
@given(
    batches=st.lists(st.tuples(st.sampled_from(["c1", "c2", "c3"]), st.integers(1, 4)), max_size=12),
    n_events=st.integers(0, 15),
)
def test_property_a_group_delivers_each_event_once_across_its_consumers(redis, ns, batches, n_events):
    bus = EventBus(redis, ns.key("prop", n_events, len(batches), abs(hash(tuple(batches))) % 10**6))
    bus.subscribe("t", "g")
    for i in range(n_events):
        bus.publish("t", {"i": i})
    delivered = []
    for consumer, count in [*batches, ("drain", 100)]:
        delivered.extend(m.event["i"] for m in bus.read("t", "g", consumer, count=count))
    assert delivered == list(range(n_events))
    ns.clear()


def test_runs_on_redis_cluster(redis_cluster_url):
    """Each topic is one stream (one key), so the bus works on Redis Cluster unchanged."""
    import uuid

    from redis.cluster import RedisCluster

    client = RedisCluster.from_url(redis_cluster_url, decode_responses=True)
    prefix = f"test-bus-{uuid.uuid4().hex[:12]}"
    try:
        bus = EventBus(client, prefix)
        for group in SERVICES:
            bus.subscribe("orders", group)
        for event in orders(3):
            bus.publish("orders", event)
        assert [len(bus.read("orders", g, f"{g}-1")) for g in SERVICES] == [3, 3, 3, 3]
        assert len(bus.claim("orders", "email", "email-2", min_idle=0)) == 3
        assert bus.pending("orders", "email") == {"email-2": 3}
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()


def test_a_poison_event_is_dead_lettered_after_max_deliveries(redis, ns):
    """An event whose handler always fails is delivered at most max_deliveries times, then moves
    to the dead-letter stream with its last error; the other events and groups are untouched."""
    bus = EventBus(redis, ns.prefix, max_deliveries=3)
    bus.subscribe("orders", "email")
    bus.subscribe("orders", "analytics")
    for event in orders(3):
        bus.publish("orders", event)
    attempts = []

    def send(message):
        attempts.append((message.event["order_id"], message.deliveries))
        if message.event["order_id"] == 1:
            raise ConnectionError(f"mail server refused order 1 (try {message.deliveries})")

    assert bus.consume("orders", "email", "email-1", send) == 2
    for _ in range(5):
        bus.consume(
            "orders", "email", "email-2", send, messages=bus.claim("orders", "email", "email-2", min_idle=0)
        )
    assert attempts == [(0, 1), (1, 1), (2, 1), (1, 2), (1, 3)], "three deliveries, never a fourth"
    assert bus.pending("orders", "email") == {}
    [dead] = bus.dead_letters("orders")
    assert (dead.group, dead.topic, dead.event, dead.deliveries) == ("email", "orders", orders(3)[1], 3)
    assert dead.error == "ConnectionError: mail server refused order 1 (try 3)"
    assert bus.dead_letters("orders", group="analytics") == []
    assert len(bus.read("orders", "analytics", "a1")) == 3, "another group still gets the event"


def test_a_handled_event_forgets_its_earlier_error(redis, ns):
    bus = EventBus(redis, ns.prefix, max_deliveries=2)
    bus.subscribe("orders", "email")
    bus.publish("orders", {"order_id": 1})
    failures = iter([True, False])

    def flaky(message):
        if next(failures):
            raise TimeoutError()

    assert bus.consume("orders", "email", "e1", flaky) == 0
    assert (
        bus.consume("orders", "email", "e1", flaky, messages=bus.claim("orders", "email", "e1", min_idle=0))
        == 1
    )
    assert bus.dead_letters("orders") == [] and bus.pending("orders", "email") == {}
    assert ns.keys() == [bus.stream_key("orders")], "no error record is left behind"


def test_a_crash_while_dead_lettering_leaves_one_dead_letter(redis, ns, monkeypatch):
    """Moving an event to the dead letters is: copy, then ack. A crash between the two steps
    means the next claim copies it again; listing still shows it once."""
    bus = EventBus(redis, ns.prefix, max_deliveries=1)
    bus.subscribe("orders", "email")
    bus.publish("orders", {"order_id": 9})
    bus.read("orders", "email", "e1")
    real_ack = bus.client.xack
    monkeypatch.setattr(bus.client, "xack", lambda *a: (_ for _ in ()).throw(ConnectionError("crash")))
    with pytest.raises(ConnectionError):
        bus.claim("orders", "email", "e2", min_idle=0)
    monkeypatch.setattr(bus.client, "xack", real_ack)
    assert bus.claim("orders", "email", "e2", min_idle=0) == []
    assert [d.event for d in bus.dead_letters("orders")] == [{"order_id": 9}]
    assert bus.pending("orders", "email") == {}


def test_delivery_limit_is_checked(redis, ns):
    for bad in (0, -1, 1.5, True, None):
        with pytest.raises(ValueError, match="max_deliveries must be a whole number >= 1"):
            EventBus(redis, ns.prefix, max_deliveries=bad)


def test_events_that_json_would_change_are_refused(bus, ns):
    with pytest.raises(ValueError, match="non-string key 7"):
        bus.publish("orders", {7: "seven"})
    with pytest.raises(ValueError, match="tuples come back as lists"):
        bus.publish("orders", {"items": ("a", "b")})
    assert ns.keys() == []


def test_a_handler_that_aborts_the_batch_still_acks_what_it_handled(bus):
    bus.subscribe("orders", "email")
    for event in orders(3):
        bus.publish("orders", event)

    def send(message):
        if message.event["order_id"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bus.consume("orders", "email", "e1", send)
    assert bus.pending("orders", "email") == {"e1": 1}, "orders 0 and 1 were handled and acked"


def test_an_error_redis_cannot_encode_is_kept_escaped(redis, ns):
    bus = EventBus(redis, ns.prefix, max_deliveries=1)
    bus.subscribe("orders", "email")
    bus.publish("orders", {"order_id": 1})

    def send(message):
        raise ValueError(b"\xff".decode("utf-8", "surrogateescape"))

    assert bus.consume("orders", "email", "e1", send) == 0
    assert bus.claim("orders", "email", "e1", min_idle=0) == []
    assert bus.dead_letters("orders")[0].error == "ValueError: \\udcff"


def test_delivery_counts_are_exact_for_a_consumer_holding_many_messages(redis, ns):
    bus = EventBus(redis, ns.prefix, max_deliveries=1)
    bus.subscribe("t", "g")
    for i in range(30):
        bus.publish("t", {"i": i})
    bus.read("t", "g", "c1", count=30)
    assert bus.claim("t", "g", "c1", min_idle=0, count=7) == []
    assert [d.event["i"] for d in bus.dead_letters("t")] == list(range(30))


@pytest.mark.parametrize(
    ("options", "message"), [({"min_idle": float("nan")}, "min_idle"), ({"count": 0}, "count")]
)
def test_claim_settings_are_checked(bus, options, message):
    bus.subscribe("orders", "email")
    with pytest.raises(ValueError, match=message):
        bus.claim("orders", "email", "e1", **options)


def test_an_entry_no_publish_wrote_is_dead_lettered_not_fatal(redis, ns):
    """Someone XADDs by hand: no 'event' field, text that is not JSON, JSON that is not an
    object. Reading must not crash on them (or they would crash every consumer forever):
    they go to the dead letters at once, and the real events around them are delivered."""
    bus = EventBus(redis, ns.prefix)
    bus.subscribe("orders", "email")
    bus.publish("orders", {"order_id": 1})
    key = bus.stream_key("orders")
    redis.xadd(key, {"order_id": "2"})
    redis.xadd(key, {"event": "not json"})
    redis.xadd(key, {"event": "[1, 2]"})
    bus.publish("orders", {"order_id": 3})
    assert [m.event for m in bus.read("orders", "email", "e1")] == [{"order_id": 1}, {"order_id": 3}]
    dead = bus.dead_letters("orders")
    assert [d.event for d in dead] == [{"order_id": "2"}, {"event": "not json"}, {"event": "[1, 2]"}]
    assert all("not an event written by EventBus.publish" in d.error for d in dead)
    assert bus.pending("orders", "email") == {"e1": 2}, "the foreign entries are acked"


def test_a_foreign_entry_pending_from_before_is_dead_lettered_by_claim(redis, ns):
    bus = EventBus(redis, ns.prefix)
    bus.subscribe("orders", "email")
    redis.xadd(bus.stream_key("orders"), {"event": "{broken"})
    redis.xreadgroup("email", "old-consumer", {bus.stream_key("orders"): ">"})
    assert bus.claim("orders", "email", "e2", min_idle=0) == []
    assert bus.pending("orders", "email") == {}
    [dead] = bus.dead_letters("orders")
    assert dead.event == {"event": "{broken"} and dead.deliveries == 2


def test_a_message_claimed_away_meanwhile_is_not_handed_out_twice(redis, ns, monkeypatch):
    """Two consumers claim at once: A's XAUTOCLAIM takes the event, then B's takes it from A
    before A looks up its delivery count. The event is B's now; A must not run it too."""
    bus_a, bus_b = EventBus(redis, ns.prefix), EventBus(redis, ns.prefix)
    bus_a.subscribe("orders", "email")
    bus_a.publish("orders", {"order_id": 1})
    bus_a.read("orders", "email", "dead-consumer")
    lookup = bus_a._deliveries
    taken_by_b = []

    def b_claims_first(*args):
        taken_by_b.extend(bus_b.claim("orders", "email", "B", min_idle=0))
        return lookup(*args)

    monkeypatch.setattr(bus_a, "_deliveries", b_claims_first)
    assert bus_a.claim("orders", "email", "A", min_idle=0) == []
    assert [(m.event, m.deliveries) for m in taken_by_b] == [({"order_id": 1}, 3)]
    assert bus_a.pending("orders", "email") == {"B": 1}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda bus: bus.read("orders", "g", "c", count=float("nan")), "count must be a whole number"),
        (lambda bus: bus.read("orders", "g", "c", count=2.5), "count must be a whole number"),
        (lambda bus: bus.subscribe("orders", "g", start="yesterday"), "start is '\\$'"),
        (lambda bus: bus.subscribe("orders", ""), "a group is a non-empty string"),
    ],
)
def test_read_and_subscribe_arguments_are_checked(bus, call, message):
    with pytest.raises(ValueError, match=message):
        call(bus)


def test_consumers_claiming_at_once_keep_the_delivery_limit(redis, ns):
    """Four consumer threads read and claim the same group at once. With ``min_idle`` longer than
    a handler takes, XAUTOCLAIM gives each idle message to one of them: every good event runs
    once, every poison event exactly ``max_deliveries`` times, then is dead-lettered once."""
    import collections
    import threading
    import time

    bus = EventBus(redis, ns.prefix, max_deliveries=3)
    bus.subscribe("t", "g")
    for i in range(30):
        bus.publish("t", {"i": i, "poison": i % 10 == 0})
    runs, lock = collections.Counter(), threading.Lock()

    def handler(message):
        with lock:
            runs[message.event["i"]] += 1
        if message.event["poison"]:
            raise ValueError("poison")

    def consumer(name: str) -> None:
        mine = EventBus(redis, ns.prefix, max_deliveries=3)
        give_up = time.monotonic() + 20
        while time.monotonic() < give_up and len(mine.dead_letters("t")) < 3:
            mine.consume("t", "g", name, handler, messages=mine.claim("t", "g", name, min_idle=0.5))
            mine.consume("t", "g", name, handler)
            time.sleep(0.01)

    threads = [threading.Thread(target=consumer, args=(f"c{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(d.event["i"] for d in bus.dead_letters("t")) == [0, 10, 20]
    assert [runs[i] for i in (0, 10, 20)] == [3, 3, 3]
    assert all(runs[i] == 1 for i in range(30) if i % 10)
    assert bus.pending("t", "g") == {}


@pytest.mark.parametrize("error", [SystemExit(2), __import__("asyncio").CancelledError()])
def test_a_handler_raising_a_base_exception_fails_its_message_not_the_consumer(bus, error):
    bus.subscribe("orders", "email")
    for event in orders(3):
        bus.publish("orders", event)

    def send(message):
        if message.event["order_id"] == 1:
            raise error

    assert bus.consume("orders", "email", "e1", send) == 2
    assert bus.pending("orders", "email") == {"e1": 1}
