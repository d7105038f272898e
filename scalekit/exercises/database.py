"""Checks for notebook 03 (database scaling): a consistent-hash ring, shard keys, hash tags."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable

import numpy as np

from scalekit.exercises.feedback import Feedback, correct, not_answered, wrong
from scalekit.routers import ConsistentHashRing, cluster_slot, hash_tag, stable_hash

SHARD_KEY_CHOICES: dict[str, str] = {
    "conversation_id": (
        "hashing the conversation id puts each conversation's messages on one shard, so the "
        "hot query touches one shard, and many conversations spread evenly"
    ),
    "message_id": (
        "hashing the message id spreads writes evenly, but one conversation's messages end up "
        "on every shard, so the hot query becomes a scatter-gather over all of them (and ranges of "
        "these time-ordered ids would send every new message to the last shard)"
    ),
    "created_at": (
        "range-sharding by time sends every new message to the newest range: one hot shard "
        "takes all the writes while the others sit idle (and hashing the time instead would "
        "scatter each conversation over every shard)"
    ),
    "sender_country": (
        "geography keeps data near users, but one country's senders dwarf the others (uneven "
        "shards), and a conversation between two countries is split across shards"
    ),
}


def check_shard_key(answer: object) -> Feedback:
    """Exercise: the best shard key for a chat app whose hot query is one conversation's messages."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    choice = answer.strip().lower() if isinstance(answer, str) else None
    if choice not in SHARD_KEY_CHOICES:
        return wrong(f"answer with one of the column names {sorted(SHARD_KEY_CHOICES)}, got {answer!r}.")
    answer = choice
    if answer == "conversation_id":
        return correct(
            "the hot query now reads a single shard, and the many independent keys spread writes evenly."
        )
    return wrong(f"{answer!r}: {SHARD_KEY_CHOICES[answer]}. Which key keeps the hot query on one shard?")


def check_same_slot(answer: object, user_id: int = 42) -> Feedback:
    """Exercise: two different key names for a user's cart and profile that share a cluster slot."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if (
        not isinstance(answer, (tuple, list))
        or len(answer) != 2
        or not all(isinstance(k, str) for k in answer)
    ):
        return wrong(f"give a pair of key names (two strings), got {answer!r}.")
    cart, profile = answer
    if cart == profile:
        return wrong("the two keys are the same key; name the cart and the profile differently.")
    if "cart" not in cart or "profile" not in profile:
        return wrong(
            "the first key should name the cart and the second the profile (include 'cart' / 'profile')."
        )
    names_user = re.compile(rf"(?<!\d){user_id}(?!\d)")
    for key in (cart, profile):
        if not names_user.search(key):
            other = re.search(r"\d+", key)
            seen = f" ({key!r} names {other.group()})" if other else ""
            return wrong(f"both keys should belong to user {user_id}: put the id in each name{seen}.")
    try:
        slots = cluster_slot(cart), cluster_slot(profile)
    except ValueError as error:
        return wrong(f"{error}; use plain text key names.")
    if slots[0] != slots[1]:
        tagged = [hash_tag(key) != key.encode() for key in (cart, profile)]
        why = (
            "both keys have braces, but the text inside them differs; it must be exactly the same"
            if all(tagged)
            else "without a hash tag the whole key is hashed. Wrap the shared part in {braces}"
        )
        return wrong(f"{cart!r} is in slot {slots[0]} and {profile!r} in slot {slots[1]}: {why}.")
    tag = hash_tag(cart).decode("utf-8", "replace")
    if tag == cart or hash_tag(cart) != hash_tag(profile):
        return wrong(
            f"the two keys share slot {slots[0]} by luck, not by design: use a hash tag in {{braces}} "
            "so that every user's cart and profile share a slot."
        )
    if not names_user.search(tag):
        return wrong(
            f"both keys hash only {{{tag}}}, which does not name user {user_id}: every other user's keys "
            "would share that one slot too, and one node would hold every cart. Put the user's id inside "
            "the braces."
        )
    return correct("both keys hash to the same slot, so a cluster keeps them on one node.")


RING_LAYOUTS: list[tuple[list, int]] = [
    (["db-0", "db-1", "db-2"], 1),
    (["db-0", "db-1", "db-2"], 16),
    (["alpha", "beta", "gamma", "delta", "epsilon"], 4),
    ([0, 1, 2, 3], 32),
    ([f"cache-{i}" for i in range(8)], 8),
]


def _ring_keys(rng: np.random.Generator, count: int) -> list:
    keys: list = []
    for _ in range(count):
        number = int(rng.integers(0, 10**6))
        keys.append(number if rng.random() < 0.3 else f"user:{number}")
    return keys


def check_node_for(func: Callable[..., object], seed: int = 2026) -> Feedback:
    """Build-it: the learner's ``node_for(key, nodes, vnodes)`` against :class:`ConsistentHashRing`.

    Seeded keys on several layouts must land where the reference ring puts them; then a
    node joins four, and every key that moves must move to it.
    """
    if func is None or func is Ellipsis:
        return wrong("define node_for(key, nodes, vnodes) and run the cell again.")
    if not callable(func):
        return wrong(f"pass the function itself (node_for, no brackets), got {type(func).__name__}.")
    rng = np.random.default_rng(seed)
    for nodes, vnodes in RING_LAYOUTS:
        ring = ConsistentHashRing(nodes, vnodes=vnodes)
        keys = _ring_keys(rng, 40)
        for key in keys:
            call = f"node_for({key!r}, {nodes!r}, vnodes={vnodes})"
            try:
                got = func(key, list(nodes), vnodes)
            except Exception as error:
                return wrong(f"{call} raised {type(error).__name__}: {error}. {_ring_error_hint(error)}")
            if got is None or got is Ellipsis:
                return wrong(f"{call} returned {got!r}: the function body is not finished yet.")
            expected = ring.node_for(key)
            if got != expected:
                last_point = max(stable_hash(f"{node}#{i}") for node in nodes for i in range(vnodes))
                hint = (
                    "Its hash is past the last point, so it wraps around to the owner of the smallest point."
                    if stable_hash(key) >= last_point
                    else _ring_hint(func, nodes, vnodes, keys)
                )
                return wrong(
                    f"{call} returned {got!r}, but the first point clockwise from the key's hash "
                    f"belongs to {expected!r}. {hint}"
                )
    before, after = ["db-0", "db-1", "db-2", "db-3"], ["db-0", "db-1", "db-2", "db-3", "db-4"]
    keys = _ring_keys(rng, 600)
    try:
        moves = [(key, func(key, list(before), 16), func(key, list(after), 16)) for key in keys]
    except Exception as error:
        return wrong(f"node_for raised {type(error).__name__}: {error} while a fifth node joined four.")
    strays = [(key, old, new) for key, old, new in moves if old != new and new != "db-4"]
    if strays:
        key, old, new = strays[0]
        return wrong(
            f"when db-4 joined, key {key!r} moved from {old!r} to {new!r}: on a ring a key only ever "
            "moves to the node that joined."
        )
    moved = sum(old != new for _, old, new in moves) / len(moves)
    return correct(
        f"your ring matches scalekit's on {len(RING_LAYOUTS) * 40} keys, and when a fifth node joined "
        f"{moved:.0%} of {len(keys)} keys moved, every one of them to the newcomer."
    )


def _ring_error_hint(error: Exception) -> str:
    if isinstance(error, TypeError) and "argument" in str(error):
        return "Keep the signature node_for(key, nodes, vnodes=16): the check passes all three."
    if isinstance(error, IndexError):
        return "A key whose hash is past the last point belongs to the first point: wrap around."
    if isinstance(error, TypeError):
        return "Hash keys and points with scalekit.routers.stable_hash (it takes str, bytes or int)."
    return ""


def _ring_hint(func: Callable[..., object], nodes: list, vnodes: int, keys: list) -> str:
    """Name the likely slip: which usual wrong ring does the learner's function agree with?"""

    def modulo(key) -> object:
        return nodes[stable_hash(key) % len(nodes)]

    def one_point(key) -> object:
        return ConsistentHashRing(nodes, vnodes=1).node_for(key)

    def point_before(key) -> object:
        placed = sorted(
            (stable_hash(f"{node}#{i}"), str(node), node) for node in nodes for i in range(vnodes)
        )
        return placed[bisect_right([p for p, _, _ in placed], stable_hash(key)) - 1][2]

    slips = [
        (modulo, "That is hash(key) % n, which moves most keys when a node joins; walk the ring instead."),
        (one_point, f"Place every node at {vnodes} points, f'{{node}}#{{i}}' for i in range(vnodes)."),
        (point_before, "You took the point before the key; the owner is the next point clockwise."),
    ]
    for slip, hint in slips:
        if (slip is not one_point or vnodes > 1) and all(
            _safe(func, k, nodes, vnodes) == slip(k) for k in keys
        ):
            return hint
    return "Hash points as stable_hash(f'{node}#{i}') and keys as stable_hash(key), then walk clockwise."


def _safe(func: Callable[..., object], key, nodes: list, vnodes: int) -> object:
    try:
        return func(key, list(nodes), vnodes)
    except Exception:
        return None
