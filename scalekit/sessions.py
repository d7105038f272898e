"""A Redis session store: what lets app servers keep no state of their own.

A stateless app server keeps nothing about a user between requests; the session lives
in Redis, so the load balancer may send the next request to any server. The store:

- makes session ids with :func:`secrets.token_urlsafe` (unguessable, cookie-safe);
- rotates the id on login and on privilege changes, so an id an attacker planted or
  saw before login is worthless afterwards (session fixation);
- expires idle sessions after ``ttl`` seconds, with *sliding* expiry: every read
  pushes the deadline forward;
- stores JSON only, and refuses anything that would not come back exactly as given.

Expiry is logical: a deadline from ``clock`` stored next to the data and checked by a
Lua script, atomically, on every read. Pass a :class:`~scalekit.clock.SimClock` and an
hour of idleness takes no time and gives the same result on every run. Redis's own
key TTL is also set, as a backstop that removes sessions nobody ever reads again.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from typing import Any

import redis

from scalekit.clock import Clock

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,128}$")

# KEYS[1] the session; ARGV now, ttl seconds, backstop ms. Returns the JSON or nil.
_TOUCH = """
local found = redis.call('HMGET', KEYS[1], 'data', 'expires')
if not found[1] then return false end
if tonumber(found[2]) <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return false
end
redis.call('HSET', KEYS[1], 'expires', tostring(tonumber(ARGV[1]) + tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return found[1]
"""

# KEYS[1] the session; ARGV now. Deletes it and returns its JSON if it was live, else nil.
_TAKE = """
local found = redis.call('HMGET', KEYS[1], 'data', 'expires')
if not found[1] then return false end
redis.call('DEL', KEYS[1])
if tonumber(found[2]) <= tonumber(ARGV[1]) then return false end
return found[1]
"""

# KEYS[1] the session; ARGV now, JSON. Replaces data of a live session; 1 if it was live.
_SAVE = """
local expires = redis.call('HGET', KEYS[1], 'expires')
if not expires then return 0 end
if tonumber(expires) <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('HSET', KEYS[1], 'data', ARGV[2])
return 1
"""


class WallClock:
    """Seconds since the Unix epoch: a time every app server agrees on.

    The default clock of :class:`SessionStore`. Not ``RealClock``: its monotonic time
    starts anew on every machine, so servers would disagree about deadlines.
    """

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class SessionStore:
    """Sessions in Redis under ``prefix``, shared by every app server that uses the same prefix.

    ``create`` returns a new id; ``get`` returns the session's data (and slides its
    expiry) or ``None``; ``login`` and ``rotate`` replace the id; ``destroy`` logs out.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        ttl: float = 3600.0,
        clock: Clock | None = None,
        id_bytes: int = 32,
    ) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty string, got {prefix!r}")
        if not (isinstance(ttl, (int, float)) and math.isfinite(ttl) and ttl > 0):
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        if isinstance(id_bytes, bool) or not isinstance(id_bytes, int) or not 16 <= id_bytes <= 64:
            raise ValueError(
                f"id_bytes must be a whole number from 16 to 64 (128 to 512 bits), got {id_bytes!r}"
            )
        self.client = client
        self.prefix = prefix
        self.ttl = float(ttl)
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
        """The session's data, or ``None`` if it is unknown, expired or not a well-formed id.

        A successful read moves the deadline to ``ttl`` seconds from now (sliding expiry).
        """
        if not self._well_formed(session_id):
            return None
        found = self._touch(keys=[self.key(session_id)], args=self._args())
        return None if found is None else json.loads(found)

    def save(self, session_id: str, data: dict[str, Any]) -> bool:
        """Replace a live session's data (the id stays); False if there is no such session."""
        encoded = encode(data)
        if not self._well_formed(session_id):
            return False
        return bool(self._save(keys=[self.key(session_id)], args=[repr(self.clock.now()), encoded]))

    def rotate(self, session_id: str, data: dict[str, Any] | None = None) -> str | None:
        """Move a live session to a new id (optionally with new ``data``); the old id stops working.

        Call it whenever privileges change (login, sudo, role change). Returns the new id,
        or ``None`` if ``session_id`` was not a live session. The old session is taken
        (read and deleted) atomically, then written under the new id: each step touches
        one key, so this works on Redis Cluster too, and a crash between the two steps
        logs the user out rather than leaving two live ids.
        """
        encoded = None if data is None else encode(data)
        if not self._well_formed(session_id):
            return None
        taken = self._take(keys=[self.key(session_id)], args=[repr(self.clock.now())])
        if taken is None:
            return None
        return self._write(taken if encoded is None else encoded)

    def login(self, data: dict[str, Any], previous: str | None = None) -> str:
        """Start an authenticated session under a new id; ``previous`` (the pre-login id) dies."""
        encode(data)
        if previous is not None:
            self.destroy(previous)
        return self.create(data)

    def destroy(self, session_id: object) -> bool:
        """Log out: delete the session. True if it existed."""
        if not self._well_formed(session_id):
            return False
        return bool(self.client.delete(self.key(session_id)))

    def expires_in(self, session_id: object) -> float | None:
        """Seconds until the session expires if nobody reads it, or ``None`` if it is not live."""
        if not self._well_formed(session_id):
            return None
        deadline = self.client.hget(self.key(session_id), "expires")
        if deadline is None:
            return None
        left = float(deadline) - self.clock.now()
        return left if left > 0 else None

    def _write(self, encoded: str) -> str:
        session_id = self.new_id()
        key = self.key(session_id)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"data": encoded, "expires": repr(self.clock.now() + self.ttl)})
            pipe.pexpire(key, self._backstop_ms())
            pipe.execute()
        return session_id

    def _args(self) -> list[str | int]:
        return [repr(self.clock.now()), repr(self.ttl), self._backstop_ms()]

    def _backstop_ms(self) -> int:
        return math.ceil(self.ttl * 1000)

    @staticmethod
    def _well_formed(session_id: object) -> bool:
        if not isinstance(session_id, str):
            raise TypeError(f"a session id is a str (from the cookie), got {type(session_id).__name__}")
        return bool(_SESSION_ID.match(session_id))


def encode(data: dict[str, Any]) -> str:
    """``data`` as JSON, or a TypeError if it is not a dict that survives a JSON round trip.

    Strict on purpose: a tuple would come back a list, ``{1: ...}`` with a string key,
    a ``datetime`` not at all. Store ISO strings and lists instead.
    """
    if not isinstance(data, dict):
        raise TypeError(f"session data must be a dict (a JSON object), got {type(data).__name__}")
    try:
        encoded = json.dumps(data, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"session data must be plain JSON (str, int, float, bool, None, list, dict): {exc}"
        ) from None
    if json.loads(encoded) != data:
        raise TypeError(
            "session data would not come back as stored: use str keys and lists, not int keys or tuples"
        )
    return encoded
