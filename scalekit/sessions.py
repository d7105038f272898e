"""A Redis session store: what lets app servers keep no state of their own.

A stateless app server keeps nothing about a user between requests; the session lives
in Redis, so the load balancer may send the next request to any server. The store:

- makes session ids with :func:`secrets.token_urlsafe` (unguessable, cookie-safe);
- rotates the id on login and on privilege changes, so an id an attacker planted or
  saw before login is worthless afterwards (session fixation);
- expires idle sessions after ``ttl`` seconds, with *sliding* expiry: every read
  pushes the deadline forward;
- ends every session ``max_age`` seconds after it was created however often it is
  read (an absolute timeout, as OWASP advises), so a stolen id that is kept busy
  still dies; rotation keeps the creation time, a new login starts a new one;
- stores JSON only, and refuses anything that would not come back exactly as given.

Expiry is logical: deadlines from ``clock`` stored next to the data and checked by a
Lua script, atomically, on every read. Pass a :class:`~scalekit.clock.SimClock` and an
hour of idleness takes no time and gives the same result on every run. Redis's own
key TTL is also set, as a backstop that removes sessions nobody ever reads again. It
runs on real time, not on ``clock``, so it is set with a margin (twice ``ttl``, and at
least ``ttl`` plus an hour): Redis never deletes a session the clock still calls live,
whether the clock is simulated or a server's wall clock runs a little behind.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from typing import Any

import redis

from scalekit.clock import Clock, WallClock

_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")
_BACKSTOP_MARGIN = 3600.0
_MAX_TTL = 1e9

# A session is a hash: data (JSON), expires (sliding deadline), created (start of its life).
# ARGV[1] is now, ARGV[2] max_age; it is live while now < expires and now < created + max_age.
_LIVE = """
local function live(found, now, max_age)
  if not (found[1] and found[2] and found[3]) then return false end
  return tonumber(found[2]) > now and tonumber(found[3]) + max_age > now
end
"""

# KEYS[1] the session; ARGV now, max_age, ttl seconds, backstop ms. Returns the JSON or nil.
_TOUCH = (
    _LIVE
    + """
local found = redis.call('HMGET', KEYS[1], 'data', 'expires', 'created')
if not found[1] then return false end
local now, max_age = tonumber(ARGV[1]), tonumber(ARGV[2])
if not live(found, now, max_age) then
  redis.call('DEL', KEYS[1])
  return false
end
local expires = math.min(now + tonumber(ARGV[3]), tonumber(found[3]) + max_age)
redis.call('HSET', KEYS[1], 'expires', tostring(expires))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return found[1]
"""
)

# KEYS[1] the session; ARGV now, max_age. Deletes it; returns {JSON, created} if it was live.
_TAKE = (
    _LIVE
    + """
local found = redis.call('HMGET', KEYS[1], 'data', 'expires', 'created')
if not found[1] then return false end
redis.call('DEL', KEYS[1])
if not live(found, tonumber(ARGV[1]), tonumber(ARGV[2])) then return false end
return {found[1], found[3]}
"""
)

# KEYS[1] the session; ARGV now, max_age, JSON. Replaces data of a live session; 1 if it was live.
_SAVE = (
    _LIVE
    + """
local found = redis.call('HMGET', KEYS[1], 'data', 'expires', 'created')
if not found[1] then return 0 end
if not live(found, tonumber(ARGV[1]), tonumber(ARGV[2])) then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('HSET', KEYS[1], 'data', ARGV[3])
return 1
"""
)


class SessionStore:
    """Sessions in Redis under ``prefix``, shared by every app server that uses the same prefix.

    ``create`` returns a new id; ``get`` returns the session's data (and slides its
    expiry) or ``None``; ``login`` and ``rotate`` replace the id; ``destroy`` logs out.
    An id that is not a ``str`` (``None`` when the request had no cookie) or is not
    well formed is treated as an unknown session: it never reaches Redis.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        ttl: float = 3600.0,
        max_age: float = 12 * 3600.0,
        clock: Clock | None = None,
        id_bytes: int = 32,
    ) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty string, got {prefix!r}")
        if isinstance(ttl, bool) or not (isinstance(ttl, (int, float)) and math.isfinite(ttl) and ttl > 0):
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        if ttl > _MAX_TTL:
            raise ValueError(
                f"ttl must be at most {_MAX_TTL:.0e} seconds (about 31 years: Redis cannot expire "
                f"a key later), got {ttl!r}"
            )
        if isinstance(max_age, bool) or not (
            isinstance(max_age, (int, float)) and math.isfinite(max_age) and max_age > 0
        ):
            raise ValueError(f"max_age must be a positive number of seconds, got {max_age!r}")
        if isinstance(id_bytes, bool) or not isinstance(id_bytes, int) or not 16 <= id_bytes <= 64:
            raise ValueError(
                f"id_bytes must be a whole number from 16 to 64 (128 to 512 bits), got {id_bytes!r}"
            )
        self.client = client
        self.prefix = prefix
        self.ttl = float(ttl)
        self.max_age = float(max_age)
        self.clock: Clock = clock if clock is not None else WallClock()
        self.id_bytes = id_bytes
        self._touch = client.register_script(_TOUCH)
        self._take = client.register_script(_TAKE)
        self._save = client.register_script(_SAVE)

    def key(self, session_id: str) -> str:
        """The Redis key that holds ``session_id``."""
        return f"{self.prefix}:session:{session_id}"

    def new_id(self) -> str:
        """A fresh, unguessable session id (``id_bytes`` random bytes, URL-safe base64)."""
        return secrets.token_urlsafe(self.id_bytes)

    def create(self, data: dict[str, Any]) -> str:
        """Store ``data`` as a new session and return its id."""
        return self._write(encode(data))

    def get(self, session_id: object) -> dict[str, Any] | None:
        """The session's data, or ``None`` if it is unknown, expired or not a well-formed id
        (``None`` itself, from a request without a cookie, included).

        A successful read moves the deadline to ``ttl`` seconds from now (sliding expiry),
        but never past ``max_age`` seconds after the session was created.
        """
        if not self._well_formed(session_id):
            return None
        found = self._touch(
            keys=[self.key(session_id)],
            args=[*self._now_and_max_age(), repr(self.ttl), self._backstop_ms()],
        )
        return None if found is None else json.loads(found)

    def save(self, session_id: object, data: dict[str, Any]) -> bool:
        """Replace a live session's data (the id stays); False if there is no such session."""
        encoded = encode(data)
        if not self._well_formed(session_id):
            return False
        return bool(self._save(keys=[self.key(session_id)], args=[*self._now_and_max_age(), encoded]))

    def rotate(self, session_id: object, data: dict[str, Any] | None = None) -> str | None:
        """Move a live session to a new id (optionally with new ``data``); the old id stops working.

        Call it whenever privileges change (login, sudo, role change). Returns the new id,
        or ``None`` if ``session_id`` was not a live session. The old session is taken
        (read and deleted) atomically, then written under the new id: each step touches
        one key, so this works on Redis Cluster too, and a crash between the two steps
        logs the user out rather than leaving two live ids. The new id inherits the
        session's creation time, so rotating never extends its ``max_age``.
        """
        encoded = None if data is None else encode(data)
        if not self._well_formed(session_id):
            return None
        taken = self._take(keys=[self.key(session_id)], args=self._now_and_max_age())
        if taken is None:
            return None
        old_data, created = taken
        return self._write(old_data if encoded is None else encoded, created=float(created))

    def login(self, data: dict[str, Any], previous: str | None = None) -> str:
        """Start an authenticated session under a new id; ``previous`` (the pre-login id) dies."""
        encode(data)
        if previous is not None:
            self.destroy(previous)
        return self.create(data)

    def destroy(self, session_id: object) -> bool:
        """Log out: delete the session. True if it existed; False for an id that is not a str or malformed."""
        if not self._well_formed(session_id):
            return False
        return bool(self.client.delete(self.key(session_id)))

    def expires_in(self, session_id: object) -> float | None:
        """Seconds until the session expires if nobody reads it, or ``None`` if it is not live."""
        if not self._well_formed(session_id):
            return None
        expires, created = self.client.hmget(self.key(session_id), ["expires", "created"])
        if expires is None or created is None:
            return None
        left = min(float(expires), float(created) + self.max_age) - self.clock.now()
        return left if left > 0 else None

    def _write(self, encoded: str, created: float | None = None) -> str:
        now = self.clock.now()
        created = now if created is None else created
        session_id = self.new_id()
        key = self.key(session_id)
        fields = {
            "data": encoded,
            "expires": repr(min(now + self.ttl, created + self.max_age)),
            "created": repr(created),
        }
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.pexpire(key, self._backstop_ms())
            pipe.execute()
        return session_id

    def _now_and_max_age(self) -> list[str]:
        return [repr(self.clock.now()), repr(self.max_age)]

    def _backstop_ms(self) -> int:
        return math.ceil(max(2 * self.ttl, self.ttl + _BACKSTOP_MARGIN) * 1000)

    @staticmethod
    def _well_formed(session_id: object) -> bool:
        return isinstance(session_id, str) and _SESSION_ID.fullmatch(session_id) is not None


class SessionDataError(TypeError, ValueError):
    """Session data that cannot be stored as JSON and come back as given (a TypeError and a ValueError)."""


def encode(data: dict[str, Any]) -> str:
    """``data`` as JSON, or a :class:`SessionDataError` if it is not a dict that survives a JSON round trip.

    Strict on purpose: a tuple would come back a list, ``{1: ...}`` with a string key,
    a ``datetime`` not at all. Store ISO strings and lists instead.
    """
    if not isinstance(data, dict):
        raise SessionDataError(f"session data must be a dict (a JSON object), got {type(data).__name__}")
    try:
        encoded = json.dumps(data, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise SessionDataError(
            f"session data must be plain JSON (str, int, float, bool, None, list, dict): {exc}"
        ) from None
    except RecursionError:
        raise SessionDataError("session data is nested too deeply to store as JSON; flatten it") from None
    if json.loads(encoded) != data:
        raise SessionDataError(
            "session data would not come back as stored: use str keys and lists, not int keys or tuples"
        )
    return encoded
