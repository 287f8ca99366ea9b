"""Which file of OLD is compared with which file of NEW.

Pairing works on the Candidate lists linkgate.check.discover makes, keyed by each
file's path below the path the user named (`member_key`): a directory's files
by their relative path, a file named directly by its base name. An archive's
members are keyed by their path inside it: for an archive named directly, that
path alone, so `linkgate diff app_1.0.tar.gz app_1.1.tar.gz` pairs `bin/app`
with `bin/app` whatever the version in the names, and `linkgate diff old.tar.gz
new/` pairs `usr/bin/app` with `new/usr/bin/app`; for an archive found in a
directory, `ARCHIVE_KEY!MEMBER`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from linkgate.check.discover import Candidate
from linkgate.core.exitcodes import CannotEvaluateError
from linkgate.core.records import record, replace


class PairingError(CannotEvaluateError):
    """A --pair that names no artifact of its side: the diff cannot be evaluated."""


@record
class Member:
    """A candidate of one side and the key that pairs it."""

    key: str
    candidate: Candidate
    # The user named this file itself, not a directory holding it.
    direct: bool = False


@record
class Pairing:
    pairs: tuple[tuple[Member, Member], ...]
    removed: tuple[Member, ...]  # in OLD only
    added: tuple[Member, ...]  # in NEW only


def member_key(root: str, candidate: Candidate) -> str:
    """`candidate`'s path below `root` (as named on the command line), `/`-separated, no `./`."""
    if candidate.member is not None:
        member = candidate.member.lstrip("/")  # an image's /usr/bin/app pairs with a tree's usr/bin/app
        archive = replace(candidate, member=None)
        return member if _is_root(root, archive) else f"{member_key(root, archive)}!{member}"
    if _is_root(root, candidate):
        return os.path.basename(os.path.normpath(root))
    relative = os.path.relpath(candidate.fs_path, root)
    return relative.replace(os.sep, "/").removeprefix("./")


def members(root: str, candidates: Sequence[Candidate]) -> list[Member]:
    return [Member(member_key(root, c), c, _is_root(root, c) and c.member is None) for c in candidates]


def _is_root(root: str, candidate: Candidate) -> bool:
    return os.path.normpath(candidate.fs_path) == os.path.normpath(root)


def pair(old: Sequence[Member], new: Sequence[Member], explicit: Sequence[tuple[str, str]] = ()) -> Pairing:
    """Explicit pairs first, then equal keys; two files named directly always pair with each other."""
    if len(old) == len(new) == 1 and not explicit and old[0].direct and new[0].direct:
        return Pairing(((old[0], new[0]),), (), ())
    pairs = [(_find(old, o, "OLD"), _find(new, n, "NEW")) for o, n in explicit]
    taken_old = {id(o) for o, _n in pairs}
    taken_new = {id(n) for _o, n in pairs}
    rest_new = {m.key: m for m in new if id(m) not in taken_new}
    removed = []
    for member in (m for m in old if id(m) not in taken_old):
        counterpart = rest_new.pop(member.key, None)
        if counterpart is None:
            removed.append(member)
        else:
            pairs.append((member, counterpart))
    return Pairing(tuple(pairs), tuple(removed), tuple(rest_new.values()))


def _find(side: Sequence[Member], wanted: str, label: str) -> Member:
    """The member whose key, or path as shown, is `wanted`."""
    normal = wanted.removeprefix("./")
    for member in side:
        if normal in (member.key, member.candidate.display, member.candidate.fs_path):
            return member
    raise PairingError(f"--pair: {wanted} is not an ELF file of {label}")


def parse_pair(text: str) -> tuple[str, str]:
    """`OLD_PATH=NEW_PATH` -> (OLD_PATH, NEW_PATH)."""
    old, sep, new = text.partition("=")
    if not sep or not old or not new:
        raise PairingError(f"--pair {text!r}: write OLD_PATH=NEW_PATH")
    return old, new
