"""Checks for notebook 03 (database scaling): keys moved, shard keys, hash tags."""

from __future__ import annotations

from scalekit.exercises.feedback import Feedback, check_number, correct, not_answered, wrong
from scalekit.routers import HashSharding, cluster_slot, moved_fraction

SHARD_KEY_CHOICES: dict[str, str] = {
    "conversation_id": (
        "hashing the conversation id puts each conversation's messages on one shard, so the "
        "hot query touches one shard, and many conversations spread evenly"
    ),
    "message_id": (
        "hashing the message id spreads writes evenly, but one conversation's messages end up "
        "on every shard, so the hot query becomes a scatter-gather over all of them"
    ),
    "created_at": (
        "range-sharding by time sends every new message to the newest range: one hot shard "
        "takes all the writes while the others sit idle"
    ),
    "sender_country": (
        "geography keeps data near users, but one country's senders dwarf the others (uneven "
        "shards), and a conversation between two countries is split across shards"
    ),
}


def check_keys_moved(answer: object, before: int = 6, after: int = 7, n_keys: int = 42_000) -> Feedback:
    """Exercise: the fraction of user ids ``0..n_keys-1`` that move from ``% before`` to ``% after``."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    expected = moved_fraction(range(n_keys), HashSharding(before).shard_for, HashSharding(after).shard_for)
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        if answer > 1:
            return wrong(
                f"give a fraction between 0 and 1 (of {n_keys:,} keys), not a count or a percentage."
            )
        if abs(answer - 1 / after) < 0.01:
            return wrong(
                f"1/{after} is what a consistent-hash ring moves; with user_id % n a key stays only "
                f"when user_id % {before} == user_id % {after}. Count those keys."
            )
    return check_number(
        answer,
        expected,
        what=f"the fraction of keys that move from % {before} to % {after}",
        rel=0.005,
        hint="Use moved_fraction(range(...), HashSharding(6).shard_for, HashSharding(7).shard_for).",
    )


def check_shard_key(answer: object) -> Feedback:
    """Exercise: the best shard key for a chat app whose hot query is one conversation's messages."""
    missing = not_answered(answer)
    if missing is not None:
        return missing
    if not isinstance(answer, str) or answer not in SHARD_KEY_CHOICES:
        return wrong(f"answer with one of the column names {sorted(SHARD_KEY_CHOICES)}, got {answer!r}.")
    reason = SHARD_KEY_CHOICES[answer]
    if answer == "conversation_id":
        return correct(reason + ".")
    return wrong(f"{answer!r}: {reason}. Which key keeps the hot query on one shard?")


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
    if str(user_id) not in cart or str(user_id) not in profile:
        return wrong(f"both keys should belong to user {user_id}: put the id in each name.")
    slots = cluster_slot(cart), cluster_slot(profile)
    if slots[0] != slots[1]:
        return wrong(
            f"{cart!r} is in slot {slots[0]} and {profile!r} in slot {slots[1]}: without a hash tag the "
            "whole key is hashed. Wrap the shared part in {braces}."
        )
    return correct(f"both keys hash to slot {slots[0]}, so a cluster keeps them on one node.")
