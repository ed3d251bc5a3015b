"""Per-user hits of a cell's test side: what user-level statistics need, compact in JSON.

A cell's metrics are averages over its test interactions; a verdict that counts the test
users as a source of uncertainty (:mod:`harness.evaluation.resampling`) needs, for each
test user, its number of test interactions and how many of them ranked in the top k,
under the cell's headline ranking (``provenance.ranking``). Users are the table's user
codes, so two cells of one split and seed pair user by user, and on a split whose test
users are the same in every seed each user's seeds line up.

In the entry that holds the cell's metrics, ``extra_info.per_user`` is::

    {"version": 1, "users": "<array>", "queries": "<array>", "warm": "<array>",
     "hits": {"10": "<array>", "50": "<array>", "100": "<array>"}}

users ascending; queries, warm (1 when the user has training interactions: the
``user_warm`` segment) and hits per k aligned with them. Each ``<array>`` is
``"<dtype>:<base64 of zlib of the little-endian integers>"`` in the smallest of u1, u2,
u4 that holds them; users are stored as their first code and the gaps after it (small
numbers that compress well). numpy and the standard library only.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.errors import UserError

VERSION = 1
# The cut-offs kept per user: the report's (top 100 for every verdict, and the accuracy
# tables' 50 and 10). Top 1 and 5 are in the cell's metrics only: no table shows them,
# and they would add a third to the bytes.
PER_USER_KS = (10, 50, 100)
_DTYPES = ("u1", "u2", "u4")


def encode_array(values) -> str:
    """``"<dtype>:<base64(zlib(bytes))>"`` of non-negative integers below 2**32."""
    array = np.asarray(values, dtype=np.int64).ravel()
    if array.size and (array.min() < 0 or array.max() >= 2**32):
        raise ValueError("per-user arrays hold integers in [0, 2**32)")
    top = int(array.max()) if array.size else 0
    dtype = next(d for d in _DTYPES if top <= np.iinfo(np.dtype(d)).max)
    packed = zlib.compress(array.astype(f"<{dtype}").tobytes(), 9)
    return f"{dtype}:{base64.b64encode(packed).decode('ascii')}"


def decode_array(text: object, where: str) -> np.ndarray:
    """[n] int64 of an :func:`encode_array` string.

    Raises:
        UserError: not such a string; one line naming ``where``.
    """
    dtype, _, payload = text.partition(":") if isinstance(text, str) else ("", "", "")
    if dtype not in _DTYPES:
        raise UserError(f"{where} must be a string '<u1|u2|u4>:<base64>', got {text!r:.40}")
    try:
        raw = zlib.decompress(base64.b64decode(payload, validate=True))
    except (binascii.Error, zlib.error, ValueError) as error:
        raise UserError(f"{where} is not base64 of zlib data: {error}") from None
    if len(raw) % np.dtype(dtype).itemsize:
        raise UserError(f"{where} holds {len(raw)} bytes, not whole {dtype} values")
    return np.frombuffer(raw, dtype=f"<{dtype}").astype(np.int64)


@dataclass(frozen=True, eq=False)
class PerUser:
    """One cell's test users, their test interactions and hits.

    Attributes:
        users: [n] int64 user codes, ascending.
        queries: [n] int64 test interactions of each user.
        warm: [n] bool, whether the user has training interactions.
        hits: k -> [n] int64 interactions of each user ranked in the top k.
    """

    users: np.ndarray
    queries: np.ndarray
    warm: np.ndarray
    hits: dict[int, np.ndarray]

    @classmethod
    def of(cls, users, ranks, warm, ks: Sequence[int] = PER_USER_KS) -> PerUser:
        """Per-user counts of per-interaction arrays.

        Args:
            users: [m] each test interaction's user code.
            ranks: [m] 0-based rank of its true item (a hit in the top k when < k).
            warm: [m] bool, whether its user has training interactions.
            ks: the cut-offs to keep.
        """
        users, ranks = np.asarray(users, np.int64), np.asarray(ranks)
        codes, index = np.unique(users, return_inverse=True)
        size = codes.size
        warm_of = np.zeros(size, bool)
        warm_of[index] = np.asarray(warm, bool)
        return cls(codes, np.bincount(index, minlength=size), warm_of,
                   {int(k): np.bincount(index, weights=ranks < k, minlength=size)
                    .astype(np.int64) for k in sorted(ks)})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PerUser):
            return NotImplemented
        return (np.array_equal(self.users, other.users)
                and np.array_equal(self.queries, other.queries)
                and np.array_equal(self.warm, other.warm) and self.hits.keys() == other.hits.keys()
                and all(np.array_equal(v, other.hits[k]) for k, v in self.hits.items()))

    __hash__ = None  # mutable arrays inside: equal by value, not hashable

    def to_dict(self) -> dict:
        gaps = np.diff(self.users, prepend=0)
        return {"version": VERSION, "users": encode_array(gaps),
                "queries": encode_array(self.queries), "warm": encode_array(self.warm),
                "hits": {str(k): encode_array(v) for k, v in self.hits.items()}}

    @classmethod
    def from_dict(cls, data: object, where: str) -> PerUser:
        """Reads :meth:`to_dict`'s dict back, checked.

        Raises:
            UserError: a field is missing, malformed or of another length, or a user
                has more hits than test interactions; one line naming ``where``.
        """
        if not isinstance(data, dict):
            raise UserError(f"{where} must be an object")
        if data.get("version") != VERSION:
            raise UserError(f"{where}.version must be {VERSION}, got "
                            f"{data.get('version')!r:.20}")
        hits = data.get("hits")
        if not isinstance(hits, dict) or not all(str(k).isdigit() for k in hits):
            raise UserError(f"{where}.hits must be an object keyed by cut-off")
        users = np.cumsum(decode_array(data.get("users"), f"{where}.users"))
        queries = decode_array(data.get("queries"), f"{where}.queries")
        warm = decode_array(data.get("warm"), f"{where}.warm").astype(bool)
        by_k = {int(k): decode_array(v, f"{where}.hits.{k}") for k, v in hits.items()}
        for name, array in (("queries", queries), ("warm", warm),
                            *((f"hits.{k}", v) for k, v in by_k.items())):
            if array.size != users.size:
                raise UserError(f"{where}.{name} has {array.size} values for "
                                f"{users.size} users")
        if any((v > queries).any() for v in by_k.values()):
            raise UserError(f"{where}.hits: a user has more hits than test interactions")
        return cls(users, queries, warm, dict(sorted(by_k.items())))


def align(records: Sequence[PerUser], k: int, warm_only: bool = False
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-seed records on one axis of users: every user of any seed.

    Args:
        records: one :class:`PerUser` per seed, in seed order.
        k: the cut-off of the hits.
        warm_only: keep only each seed's warm users (the others count 0 and 0).

    Returns:
        (users [n], hits [seeds, n], queries [seeds, n]); a user absent from a seed has
        0 queries and 0 hits there.

    Raises:
        KeyError: a record has no hits at ``k``.
    """
    users = np.unique(np.concatenate([r.users for r in records])) if records else (
        np.zeros(0, np.int64))
    hits = np.zeros((len(records), users.size), np.int64)
    queries = np.zeros_like(hits)
    for row, record in enumerate(records):
        keep = record.warm if warm_only else np.ones(record.users.size, bool)
        columns = np.searchsorted(users, record.users[keep])
        hits[row, columns] = record.hits[k][keep]
        queries[row, columns] = record.queries[keep]
    return users, hits, queries


__all__ = ["PER_USER_KS", "VERSION", "PerUser", "align", "decode_array", "encode_array"]
