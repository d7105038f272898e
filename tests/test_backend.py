"""scalekit.backend: embedded by default, real on request, clear errors, no flushing."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import fakeredis
import pytest

from scalekit import backend


def test_default_is_one_embedded_server_per_process(monkeypatch):
    monkeypatch.delenv(backend.ENV_VAR, raising=False)
    first, second = backend.connect(), backend.connect()
    assert backend.is_embedded(first)
    first.set("test_backend:shared", "yes")
    assert second.get("test_backend:shared") == "yes"
    first.delete("test_backend:shared")


def test_describe_is_the_same_text_on_every_backend(redis):
    fresh_embedded = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    assert backend.describe(redis) == backend.describe(fresh_embedded)
    assert "ready" in backend.describe(redis)


def test_describe_from_many_clients_at_once(redis):
    def banner_many_times(_):
        return {backend.describe(redis) for _ in range(100)}

    with ThreadPoolExecutor(4) as pool:
        banners = set().union(*pool.map(banner_many_times, range(4)))
    assert len(banners) == 1


def test_database_must_be_a_number():
    with pytest.raises(ValueError, match="databases are numbered"):
        backend.connect("redis://127.0.0.1:6379/cache")


def test_a_server_that_refuses_is_not_reported_as_missing(redis_url):
    base = redis_url.rsplit("/", 1)[0]
    with pytest.raises(backend.RedisUnavailable, match="answered but refused"):
        backend.connect(f"{base}/999")


def test_malformed_url_names_the_url_and_the_fix():
    with pytest.raises(ValueError) as error:
        backend.connect("http://127.0.0.1:6379")
    message = str(error.value)
    assert "http://127.0.0.1:6379" in message and "redis://" in message and "REDIS_URL" in message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_url_is_an_error_not_a_silent_fallback(monkeypatch):
    url = f"redis://127.0.0.1:{_free_port()}/0"
    monkeypatch.setenv(backend.ENV_VAR, url)
    with pytest.raises(backend.RedisUnavailable) as error:
        backend.connect()
    assert url in str(error.value) and "unset REDIS_URL" in str(error.value)


def test_password_is_redacted_in_errors():
    url = f"redis://learner:s3cret@127.0.0.1:{_free_port()}/0"
    with pytest.raises(backend.RedisUnavailable) as error:
        backend.connect(url)
    assert "s3cret" not in str(error.value) and "learner:***@" in str(error.value)


def test_namespace_clears_only_its_own_keys(redis, ns):
    other = backend.namespace(ns.prefix + "-other", redis)
    redis.set(ns.key("a"), 1)
    redis.set(ns.key("b", 2), 2)
    redis.set(other.key("keep"), 3)
    redis.set(ns.prefix + "x:not-mine", 4)
    assert ns.keys() == [ns.key("a"), ns.key("b", 2)]
    assert ns.clear() == 2
    assert ns.keys() == []
    assert redis.get(other.key("keep")) == "3"
    assert redis.get(ns.prefix + "x:not-mine") == "4"
    other.clear()
    redis.delete(ns.prefix + "x:not-mine")


def test_namespace_clears_on_claim_by_default(redis, ns):
    redis.set(ns.key("left-over"), 1)
    again = backend.namespace(ns.prefix, redis)
    assert again.keys() == []


@pytest.mark.parametrize("prefix", ["", "nb*", "a b", "x:y", None, "[ab]"])
def test_namespace_rejects_prefixes_that_could_match_other_keys(prefix):
    with pytest.raises(ValueError, match="namespace prefix"):
        backend.namespace(prefix, backend.connect(None))


SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(
    "template",
    [
        "redis://learner:{secret}@127.0.0.1:{port}/0",
        "redis://:{secret}@127.0.0.1:{port}/0",
        "rediss://learner:{secret}@127.0.0.1:{port}/0",
        "redis://127.0.0.1:{port}/0?password={secret}",
        "redis://127.0.0.1:{port}/0?username={secret}&password={secret}",
        "redis://127.0.0.1:{port}?db=0&password={secret}",
        "redis://learner:{secret}@127.0.0.1:{port}/0?password={secret}",
        "unix://learner:{secret}@/nonexistent/redis.sock?db=0",
        "unix:///nonexistent/redis.sock?db=0&password={secret}",
        "redis://{secret}@127.0.0.1:{port}/0",
    ],
)
def test_every_credential_form_is_redacted_in_errors(template):
    url = template.format(secret=SECRET, port=_free_port())
    with pytest.raises((backend.RedisUnavailable, ValueError)) as error:
        backend.connect(url)
    message = str(error.value)
    assert SECRET not in message and "***" in message
    assert SECRET not in backend.redact(url)


@pytest.mark.parametrize(
    "url",
    [
        f"redis://127.0.0.1:6379/db0?password={SECRET}",
        f"redis://u:{SECRET}@127.0.0.1:6379/cache",
        f"redis://u:{SECRET}@[::1:6379/0",
        f"http://u:{SECRET}@127.0.0.1:6379/0",
        f"redis://127.0.0.1:6379/0?db=x&password={SECRET}",
        f"learner:{SECRET}@127.0.0.1:6379",
        f"{SECRET}@127.0.0.1:6379/0",
        f"redis:/learner:{SECRET}@127.0.0.1:6379/0",
        f"redis:learner:{SECRET}@127.0.0.1:6379/0",
        f"REDIS://learner:{SECRET}@127.0.0.1:6379/0",
        f"127.0.0.1:6379/0?password={SECRET}",
        f"redis://:pa?{SECRET}@127.0.0.1:6379/0",
        f"redis://learner:pa#{SECRET}@127.0.0.1:6379/0",
        f"redis://learner:pa?x#{SECRET}@127.0.0.1:6379",
    ],
)
def test_malformed_urls_with_credentials_are_redacted_too(url):
    with pytest.raises(ValueError) as error:
        backend.connect(url)
    assert SECRET not in str(error.value)


def test_a_url_without_a_redis_scheme_says_which_schemes_work():
    with pytest.raises(ValueError, match=r"must start with redis://, rediss:// \(TLS\) or unix://"):
        backend.connect("127.0.0.1:6379")


def test_an_option_redis_py_does_not_take_is_a_clear_error_without_the_secret():
    url = f"redis://127.0.0.1:{_free_port()}/0?ssl_password={SECRET}"
    with pytest.raises(ValueError, match="has an option Redis does not take here") as error:
        backend.connect(url)
    assert SECRET not in str(error.value)


def test_redact_keeps_what_helps_and_hides_what_hurts():
    assert backend.redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert backend.redact(f"redis://ann:{SECRET}@h:1/0") == "redis://ann:***@h:1/0"
    assert backend.redact(f"redis://h:1/0?socket_timeout=5&password={SECRET}") == (
        "redis://h:1/0?socket_timeout=5&password=***"
    )
    assert backend.redact(f"redis://:a?b#{SECRET}@h:1/0?db=0") == "redis://:***@h:1/0?db=0"
    assert backend.redact("redis://h:1/0?client_name=me@home") == "redis://h:1/0?client_name=me@home"
    assert backend.redact(f"redis://:a?b={SECRET}@h:1") == "redis://:***@h:1"


def test_unix_socket_url_that_nobody_listens_on_is_unavailable_not_a_bad_database(tmp_path):
    url = f"unix://{tmp_path}/missing.sock?db=0"
    with pytest.raises(backend.RedisUnavailable, match="No Redis server answered"):
        backend.connect(url)


def test_unix_socket_database_must_be_a_number(tmp_path):
    with pytest.raises(ValueError, match="numbered"):
        backend.connect(f"unix://{tmp_path}/redis.sock?db=cache")


@pytest.fixture
def unix_socket_server(tmp_path):
    """A throwaway redis-server listening only on a unix socket (skipped without redis-server)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("needs redis-server on PATH")
    sock = tmp_path / "redis.sock"
    process = subprocess.Popen(
        [
            server,
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert process.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)
        yield sock
    finally:
        process.kill()
        process.wait(timeout=10)


def test_unix_socket_urls_connect(unix_socket_server):
    for url in (f"unix://{unix_socket_server}", f"unix://{unix_socket_server}?db=2"):
        client = backend.connect(url)
        assert client.ping() and "ready" in backend.describe(client)
        client.close()


def test_a_port_that_accepts_but_never_answers_fails_fast_and_says_so():
    """A silent listener held connect() for the client's 30 s socket_timeout, reported as 'no server'."""
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(backend.RedisUnavailable, match="did not answer PING"):
            backend.connect(f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
        assert time.monotonic() - started < 15
    finally:
        listener.close()
        for connection, _ in accepted:
            connection.close()
