"""Where the course's Redis lives.

By default an in-process fakeredis server (nothing to install, works on Binder); when
``$REDIS_URL`` is set, a real Redis server. Both speak through redis-py, so the same
code gives the same output on either. Nothing here ever flushes a database: every
notebook works under its own key prefix (:func:`namespace`).
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

import fakeredis
import redis

ENV_VAR = "REDIS_URL"
_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")
# Query parameters whose values are credentials (password=, username=, ssl_password=, ...).
_SECRET_PARAMETER = re.compile(r"pass|user|secret|token|auth|credential", re.IGNORECASE)
_QUERY_PAIR = re.compile(r"(?P<name>[^=&;#?]+)=(?P<value>[^&;#]*)")
# "redis://", "unix:///", and the mistyped "redis:/" or "redis:" that must be redacted too.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/*")
_SCHEMES = ("redis", "rediss", "unix")
# How long connect() waits for the first PING: a port where something else listens must not
# hold a notebook's setup cell for the client's full socket_timeout.
_PROBE_TIMEOUT = 5.0
_embedded_lock = threading.Lock()
_embedded_server: fakeredis.FakeServer | None = None


class RedisUnavailable(ConnectionError):
    """A Redis URL was given but no server answered there."""


def connect(url: str | None = None, *, decode_responses: bool = True) -> redis.Redis:
    """Return a Redis client: for ``url``, else ``$REDIS_URL``, else the embedded server.

    The embedded server is one fakeredis server per process, shared by every client
    this function returns. A bad or unreachable URL raises instead of falling back, so
    a learner who asked for a real server always gets one. Every form redis-py accepts
    works: ``redis://``, ``rediss://`` (TLS) and ``unix:///path/to/redis.sock?db=0``.
    Errors never show a credential, wherever the URL carries it (see :func:`redact`).
    """
    if url is None:
        url = os.environ.get(ENV_VAR) or None
    if url is None:
        return fakeredis.FakeRedis(server=_shared_embedded_server(), decode_responses=decode_responses)
    if not isinstance(url, str):
        raise ValueError(f"a Redis URL is a str such as redis://127.0.0.1:6379/0, got {type(url).__name__}")
    shown = redact(url)
    hidden = _secrets(url)
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme not in _SCHEMES:
        raise ValueError(
            f"{shown!r} is not a Redis URL: it must start with redis://, rediss:// (TLS) or unix:// "
            f"(a socket), for example redis://127.0.0.1:6379/0, or unset {ENV_VAR} to use the embedded Redis."
        )
    database = _database(url)
    if database is not None and not database.isdigit():
        raise ValueError(
            f"{shown!r} names database {_scrub(database, hidden)!r}; Redis databases are numbered "
            f"(e.g. /0, or ?db=0 for a unix socket). Use the form redis://HOST:PORT/0, "
            f"or unset {ENV_VAR} to use the embedded Redis."
        )
    try:
        client = redis.Redis.from_url(
            url, decode_responses=decode_responses, socket_connect_timeout=3, socket_timeout=30
        )
        probe = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=_PROBE_TIMEOUT)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{shown!r} is not a Redis URL ({_scrub(str(exc), hidden)}). Use the form "
            f"redis://HOST:PORT/DB, for example redis://127.0.0.1:6379/0 (or unix:///path/redis.sock?db=0), "
            f"or unset {ENV_VAR} to use the embedded Redis."
        ) from None
    try:
        probe.ping()
    # TypeError: an option redis-py does not take for this scheme, e.g. ssl_password on redis://
    except TypeError as exc:
        client.close()
        raise ValueError(
            f"{shown!r} has an option Redis does not take here ({_scrub(str(exc), hidden)}). "
            f"Remove it, or use rediss:// for the TLS options."
        ) from None
    except (redis.AuthenticationError, redis.ResponseError) as exc:
        client.close()
        raise RedisUnavailable(
            f"The Redis server at {shown} answered but refused the connection ({_scrub(str(exc), hidden)}). "
            f"Check the password and database number in {ENV_VAR}."
        ) from None
    except redis.TimeoutError:
        client.close()
        raise RedisUnavailable(
            f"Something at {shown} accepted the connection but did not answer PING within "
            f"{_PROBE_TIMEOUT:g} s: is that port a Redis server? Correct {ENV_VAR}, "
            f"or unset {ENV_VAR} to use the embedded Redis."
        ) from None
    except redis.RedisError as exc:
        client.close()
        raise RedisUnavailable(
            f"No Redis server answered at {shown} ({_scrub(str(exc), hidden)}). Start one there "
            f"(for example `redis-server --port 6379`), correct {ENV_VAR}, "
            f"or unset {ENV_VAR} to use the embedded Redis."
        ) from None
    finally:
        probe.close()
    return client


def is_embedded(client: redis.Redis) -> bool:
    """True when ``client`` talks to the in-process fakeredis server, not a real one."""
    return isinstance(client, fakeredis.FakeRedis)


def describe(client: redis.Redis) -> str:
    """A one-line banner that reads the same on the embedded and on a real server.

    It proves the connection works (a PING and a round trip of a value) without
    printing anything that differs between backends, so notebook outputs match.
    """
    probe = f"scalekit:describe:{uuid.uuid4().hex}"  # unique: notebooks may start together
    client.set(probe, "ok", px=10_000)
    echoed = client.get(probe)
    client.delete(probe)
    if echoed not in ("ok", b"ok") or not client.ping():
        raise RedisUnavailable("Redis answered PING but did not store and return a value.")
    return "Redis is ready: PING answered and a test value made the round trip."


def redact(url: str) -> str:
    """``url`` with every credential replaced by ``***``, safe to print in an error.

    That is the password in ``user:password@`` (a user name without a password may be
    a password written in the wrong place, so it is hidden too) and the value of any
    query parameter that names a credential (``?password=``, ``?username=``,
    ``?ssl_password=`` ...). A mistyped URL is redacted too (``user:pw@host`` without a
    scheme, ``redis:/user:pw@host`` with one slash). The host, port and database stay,
    to help spot a typo.
    """
    scheme, userinfo, where, tail = _split(url)
    if userinfo is None:
        return f"{scheme}{where}{_redact_query(tail)}"
    user, colon, _ = userinfo.partition(":")
    shown = f"{user}:***" if colon else "***"
    return f"{scheme}{shown}@{where}{_redact_query(tail)}"


def _split(url: str) -> tuple[str, str | None, str, str]:
    """``url`` as (scheme with its slashes, user info or None, the rest of the location, query and fragment).

    Lenient on purpose: it must find the credentials in URLs that are not valid, since
    those are the ones that end up in error messages. A password may hold a raw ``?`` or
    ``#`` (not percent-encoded): the user info runs to the last ``@`` before the first ``/``.
    (So ``redis://h:1?client_name=me@home``, without a path, is over-redacted: it cannot be
    told apart from a password ``1?client_name=me``, and hiding too much leaks nothing.)
    """
    scheme = _SCHEME.match(url)
    start = scheme.end() if scheme else 0
    head, rest = url[:start], url[start:]
    at = rest.partition("/")[0].rfind("@")
    if at == -1:  # a raw "/" in a password: the last "@" before the query
        at = rest[: _query_start(rest)].rfind("@")
    userinfo, rest = (None, rest) if at == -1 else (rest[:at], rest[at + 1 :])
    cut = _query_start(rest)
    return head, userinfo, rest[:cut], rest[cut:]


def _query_start(text: str) -> int:
    """Where the query or fragment of ``text`` starts (its length if it has neither)."""
    return min((i for i in (text.find("?"), text.find("#")) if i != -1), default=len(text))


def _redact_query(text: str) -> str:
    head, mark, query = text.partition("?")
    if not mark:
        return text

    def hide(pair: re.Match[str]) -> str:
        if _SECRET_PARAMETER.search(pair["name"]):
            return f"{pair['name']}=***"
        return pair[0]

    return head + mark + _QUERY_PAIR.sub(hide, query)


def _secrets(url: str) -> list[str]:
    """Credential strings in ``url`` (raw and percent-decoded), longest first, to scrub from error text.

    Strings shorter than four characters are left out: scrubbing every "a" from a
    message would hide more than it protects.
    """
    found: list[str] = []
    _, userinfo, _, tail = _split(url)
    if userinfo is not None:
        found += [userinfo, userinfo.partition(":")[2] if ":" in userinfo else userinfo]
    query = tail.partition("?")[2].partition("#")[0]
    found += [pair["value"] for pair in _QUERY_PAIR.finditer(query) if _SECRET_PARAMETER.search(pair["name"])]
    found += [unquote(value) for value in found]
    return sorted({value for value in found if len(value) >= 4}, key=len, reverse=True)


def _scrub(text: str, hidden: list[str]) -> str:
    for secret in hidden:
        text = text.replace(secret, "***")
    return text


def _database(url: str) -> str | None:
    """The database the URL names (the path, or ``?db=`` for a unix socket), if any."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    query_db = dict(parse_qsl(parts.query, keep_blank_values=True)).get("db")
    if parts.scheme == "unix":
        return query_db
    path = parts.path.strip("/")
    return path or query_db


@dataclass
class Namespace:
    """A key prefix that one notebook (or test) owns on a shared Redis.

    ``key("user", 42)`` gives ``"<prefix>:user:42"``; :meth:`clear` deletes only keys
    under the prefix, so a learner's other data on a real server is never touched.
    """

    prefix: str
    client: redis.Redis = field(repr=False)

    def key(self, *parts: object) -> str:
        """The full key for ``parts`` under this prefix."""
        return ":".join([self.prefix, *(str(part) for part in parts)])

    def keys(self) -> list[str]:
        """Every key currently stored under this prefix, sorted."""
        found = self.client.scan_iter(match=f"{self.prefix}:*", count=1000)
        return sorted(k.decode() if isinstance(k, bytes) else k for k in found)

    def clear(self) -> int:
        """Delete this prefix's keys (and only those); return how many were deleted."""
        keys = self.keys()
        for start in range(0, len(keys), 500):
            with self.client.pipeline(transaction=False) as pipe:
                for key in keys[start : start + 500]:
                    pipe.delete(key)
                pipe.execute()
        return len(keys)


def namespace(prefix: str, client: redis.Redis | None = None, *, clear: bool = True) -> Namespace:
    """Claim ``prefix`` on ``client`` (default: :func:`connect`) and, by default, empty it.

    Prefixes are plain names (letters, digits, ``_``, ``-``, ``.``) so they cannot
    match other keys by accident.
    """
    if not isinstance(prefix, str) or not _PREFIX_PATTERN.match(prefix):
        raise ValueError(
            f"namespace prefix must be a non-empty name of letters, digits, '_', '-' or '.', got {prefix!r}"
        )
    space = Namespace(prefix, client if client is not None else connect())
    if clear:
        space.clear()
    return space


def _shared_embedded_server() -> fakeredis.FakeServer:
    global _embedded_server
    with _embedded_lock:
        if _embedded_server is None:
            _embedded_server = fakeredis.FakeServer()
        return _embedded_server
