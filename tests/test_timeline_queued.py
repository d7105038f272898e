"""Fan-out from a durable queue: batches pushed by workers, none lost or doubled when one dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

from scalekit import backend
from scalekit.clock import SimClock
from scalekit.queues import JobQueue
from scalekit.timeline import QueuedFanout, Timeline

AUTHOR = 10**6


def make_fanout(redis, ns, *, batch=100, lease=5.0, **options):
    timeline = Timeline(redis, ns.key("tl"), strategy="write", **options)
    queue = JobQueue(redis, ns.key("fanout"), lease=lease, clock=SimClock())
    return QueuedFanout(timeline, queue, batch=batch)


def test_post_only_enqueues_and_workers_deliver_batch_by_batch(redis, ns):
    fanout = make_fanout(redis, ns, batch=100)
    fanout.timeline.load_graph(np.full(450, AUTHOR), np.arange(450))
    queued = fanout.post(AUTHOR, "big news", 5.0)
    assert (queued.followers, len(queued.jobs)) == (450, 1)
    assert fanout.timeline.delivered(queued.post_id, range(450)) == 0
    assert fanout.queue.pending() == 1
    worker = fanout.worker()
    reached = []
    while worker.step() is not None:
        reached.append(fanout.timeline.delivered(queued.post_id, range(450)))
    assert reached == [0, 100, 200, 300, 400, 450]
    assert fanout.queue.stats()["acked"] == 6
    assert [p.text for p in fanout.timeline.read(449)] == ["big news"]


def test_queued_and_direct_fan_out_give_the_same_timelines(redis, ns):
    rng = np.random.default_rng(3)
    followees, followers = rng.integers(0, 30, 300), rng.integers(0, 30, 300)
    keep = followees != followers
    fanout = make_fanout(redis, ns, batch=4, buckets=3, capacity=5)
    direct = Timeline(redis, ns.key("direct"), strategy="write", capacity=5)
    for timeline in (fanout.timeline, direct):
        timeline.load_graph(followees[keep], followers[keep])
    for _ in range(40):
        author, ts = int(rng.integers(0, 30)), float(rng.integers(0, 10))
        assert fanout.post(author, "x", ts).post_id == direct.post(author, "x", ts).post_id
    fanout.worker().run()
    for user in range(30):
        assert [p.id for p in fanout.timeline.read(user, limit=5)] == [
            p.id for p in direct.read(user, limit=5)
        ]


def test_a_batch_pushed_but_not_acknowledged_is_pushed_again_without_a_duplicate(redis, ns):
    fanout = make_fanout(redis, ns, batch=50, lease=5.0)
    fanout.timeline.load_graph(np.full(120, AUTHOR), np.arange(120))
    queued = fanout.post(AUTHOR, "once", 1.0)
    worker = fanout.worker()
    worker.step()
    job = fanout.queue.reserve()
    fanout.handle(job)
    fanout.queue.clock.advance(6.0)
    assert worker.run() == 3
    stats = fanout.queue.stats()
    assert (stats["reaped"], stats["acked"], fanout.queue.pending()) == (1, 4, 0)
    assert fanout.timeline.delivered(queued.post_id, range(120)) == 120
    assert {redis.zcard(fanout.timeline.home_key(u)) for u in range(120)} == {1}


def test_celebrities_get_no_batches_and_bad_settings_are_refused(redis, ns):
    fanout = make_fanout(redis, ns)
    fanout.timeline.threshold = 10
    fanout.timeline.load_graph(np.full(10, AUTHOR), np.arange(10))
    assert fanout.post(AUTHOR, "merged at read time", 1.0).jobs == ()
    with pytest.raises(ValueError, match="batch must be"):
        QueuedFanout(fanout.timeline, fanout.queue, batch=0)
    job = fanout.queue.enqueue({"users": [1]})
    with pytest.raises(ValueError, match="or 'post', 'ts' and a list of 'users'"):
        fanout.handle(fanout.queue.reserve())
    assert job


def _start(started, url, prefix, queue, *extra):
    command = [sys.executable, "-m", "scalekit.timeline.queued", "--url", url, "--prefix", prefix]
    process = subprocess.Popen(
        [*command, "--queue", queue, "--capacity", "10", "--lease", "1", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started.append(process)
    return process


def test_a_plan_run_twice_enqueues_each_batch_once_and_reaches_late_followers(redis, ns):
    fanout = make_fanout(redis, ns, batch=100, lease=5.0)
    fanout.timeline.load_graph(np.full(250, AUTHOR), np.arange(10, 260))
    queued = fanout.post(AUTHOR, "planned", 1.0)
    plan = fanout.queue.reserve()
    fanout.handle(plan)
    assert fanout.queue.pending() == 4
    for user in range(10):
        fanout.timeline.follow(user, AUTHOR)
    fanout.queue.clock.advance(6.0)
    assert fanout.worker().run() == 4
    assert fanout.queue.stats()["acked"] == 4 and fanout.queue.pending() == 0
    assert fanout.timeline.delivered(queued.post_id, range(260)) == 260


def test_a_plan_reads_followers_a_batch_at_a_time_and_misses_none(redis, ns):
    fanout = make_fanout(redis, ns, batch=7)
    users = np.array([9, 10, 99, 100, 1000, *range(2000, 2030)])
    fanout.timeline.load_graph(np.full(users.size, AUTHOR), users)
    queued = fanout.post(AUTHOR, "paged", 1.0)
    fanout.worker().step()
    batches = [fanout.queue.reserve() for _ in range(fanout.queue.pending())]
    assert [job.payload["batch"] for job in batches] == list(range(5))
    assert all(len(job.payload["users"]) <= 7 for job in batches)
    assert sorted(u for job in batches for u in job.payload["users"]) == sorted(users.tolist())
    with pytest.raises(ValueError, match="author id"):
        fanout.enqueue_batches(queued.post_id, "x", 1.0)


def test_a_plan_is_cut_by_the_posters_batch_size_whoever_runs_it(redis, ns):
    poster = make_fanout(redis, ns, batch=250)
    worker_side = QueuedFanout(poster.timeline, poster.queue, batch=1000)
    poster.timeline.load_graph(np.full(3000, AUTHOR), np.arange(3000))
    queued = poster.post(AUTHOR, "cut at 250", 1.0)
    worker_side.handle(poster.queue.reserve())
    batches = [poster.queue.reserve() for _ in range(12)]
    assert [len(job.payload["users"]) for job in batches] == [250] * 12
    first_two = poster.enqueue_batches(queued.post_id, AUTHOR, 1.0)[:2]
    assert first_two == [batches[0].id, batches[1].id]
    assert worker_side.enqueue_batches(queued.post_id, AUTHOR, 1.0)[0] not in {job.id for job in batches}


def test_a_post_with_many_followers_costs_the_author_a_few_commands(redis, ns):
    fanout = make_fanout(redis, ns, batch=10)
    fanout.timeline.load_graph(np.full(5000, AUTHOR), np.arange(5000))
    before = fanout.queue.stats()
    queued = fanout.post(AUTHOR, "one plan", 1.0)
    assert len(queued.jobs) == 1 and queued.followers == 5000
    assert fanout.queue.pending() == 1 and before != fanout.queue.stats()


def test_a_batch_of_bad_user_ids_is_refused_before_any_push(redis, ns):
    fanout = make_fanout(redis, ns)
    fanout.queue.enqueue({"post": "0000000001", "ts": 1.0, "users": [1, "x"]})
    with pytest.raises(ValueError, match="user id must be an int"):
        fanout.handle(fanout.queue.reserve())
    assert fanout.timeline.delivered("0000000001", [1]) == 0
    fanout.queue.enqueue({"post": "0000000002", "ts": 1.0, "users": "123"})
    with pytest.raises(ValueError, match="a list of 'users'"):
        fanout.handle(fanout.queue.reserve())
    assert fanout.timeline.delivered("0000000002", [1, 2, 3]) == 0


@pytest.mark.parametrize("moment", ["pushed, not acknowledged", "while running"])
def test_worker_process_killed_mid_fan_out_loses_and_doubles_nothing(redis_url, tmp_path, moment):
    """A real worker process is SIGKILLed in the middle of a 12-batch fan-out; a second
    process finishes it. Every follower ends with the post exactly once.

    Needs a real Redis: a separate process cannot reach the in-process fakeredis."""
    client = backend.connect(redis_url)
    space = backend.namespace(f"test-tlq-{uuid.uuid4().hex[:12]}", client)
    started: list[subprocess.Popen] = []
    try:
        timeline = Timeline(client, space.key("tl"), strategy="write", capacity=10)
        fanout = QueuedFanout(timeline, JobQueue(client, space.key("q"), lease=1.0), batch=250)
        timeline.load_graph(np.full(3000, AUTHOR), np.arange(3000))
        queued = fanout.post(AUTHOR, "celebrity news", 7.0)
        fanout.enqueue_batches(queued.post_id, AUTHOR, 7.0)
        assert fanout.queue.pending() == 13
        flag = tmp_path / "hung.flag"
        if moment == "pushed, not acknowledged":
            victim = _start(
                started, redis_url, timeline.prefix, space.key("q"), "--hang-after", "5", "--flag", str(flag)
            )
        else:
            victim = _start(started, redis_url, timeline.prefix, space.key("q"), "--pause", "0.2")
        deadline = time.monotonic() + 30
        while not (flag.exists() or fanout.queue.stats()["acked"] >= 5):
            assert victim.poll() is None, victim.communicate(timeout=10)
            assert time.monotonic() < deadline, "the worker never got going"
            time.sleep(0.01)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        assert victim.returncode == -signal.SIGKILL
        reached = timeline.delivered(queued.post_id, range(3000))
        assert 1000 <= reached < 3000

        successor = _start(started, redis_url, timeline.prefix, space.key("q"))
        out, err = successor.communicate(timeout=60)
        assert out.strip().startswith("pushed "), out
        assert successor.returncode == 0, err
        stats = fanout.queue.stats()
        assert (stats["acked"], stats["dead"], fanout.queue.pending()) == (13, 0, 0)
        assert timeline.delivered(queued.post_id, range(3000)) == 3000
        with client.pipeline(transaction=False) as pipe:
            for user in range(3000):
                pipe.zrange(timeline.home_key(user), 0, -1)
            assert {tuple(ids) for ids in pipe.execute()} == {(queued.post_id,)}
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            process.stdout.close()
            process.stderr.close()
        space.clear()
        client.close()
