"""Bounds that keep reading a hostile archive cheap: bytes, members, nesting, names, links.

Every archive is read as a stream of decompressed bytes; these bounds are what
turn a zip or tar bomb, a member count in the millions or a symlink loop into an
`archive-format` finding instead of a machine out of memory or time.
"""

from __future__ import annotations

from collections.abc import Mapping

from linkgate.core.records import field_names, record, replace

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30

# LINKGATE_ARCHIVE_LIMITS="total=1G,member=64M,members=1000,depth=3": tighter bounds. A value above
# its hard ceiling (CEILINGS: the default, except for the ratio bound), or a key given twice, is refused.
ENVIRONMENT = "LINKGATE_ARCHIVE_LIMITS"
_UNITS = {"": 1, "K": KIB, "M": MIB, "G": GIB}


# What reading one member costs, counted like decompressed bytes against the ratio bound.
MEMBER_COST = 8 * KIB


class ArchiveError(Exception):
    """The archive cannot be read to the end safely: corrupt, truncated, hostile or unsupported."""


class BoundExceededError(ArchiveError):
    """A bound of the whole archive was passed: reading stops everywhere, nested archives included."""


@record
class Limits:
    # Decompressed bytes read through one archive given on the command line, nesting included.
    total: int = 16 * GIB
    # One member held in memory: an ELF file (it is parsed whole) or a nested zip (it needs seeking).
    member: int = 2 * GIB
    # Entries of one archive given on the command line, nesting included.
    members: int = 500_000
    # Archives inside archives: `a.zip!b.tar.gz!bin/tool` is depth 2.
    depth: int = 4
    # Bytes of one member name (Linux PATH_MAX).
    name: int = 4096
    # Symlinks followed to resolve one path (Linux MAXSYMLINKS).
    links: int = 40
    # Decompressed bytes per byte of the archive given on the command line, beyond `floor`: deflate
    # gives at most 1032, real archives 2-20, a bomb of zeros hundreds or more. A bomb is refused
    # after `floor` + `ratio` x its own size, not after `total`.
    ratio: int = 100
    floor: int = 64 * MIB


# The ratio bound alone may be loosened, for the rare real archive of mostly zeros (a disk image):
# up to deflate's own limit of 1032 beyond a floor of 1 GiB, which still bounds a bomb's cost.
CEILINGS = {"ratio": 1032, "floor": GIB}


def limits_from(environ: Mapping[str, str]) -> Limits:
    """The default bounds with those named in LINKGATE_ARCHIVE_LIMITS replaced; ValueError when
    malformed, repeated, or above the ceiling (the default, except for the ratio bound: CEILINGS)."""
    spec = environ.get(ENVIRONMENT, "").strip()
    if not spec:
        return Limits()
    changes: dict[str, int] = {}
    for item in spec.split(","):
        key, value = _setting(item.strip())
        if key in changes:
            raise ValueError(f"{ENVIRONMENT}: {key}= is given twice")
        changes[key] = value
    return replace(Limits(), **changes)


def _setting(item: str) -> tuple[str, int]:
    """(key, value) of one `key=NUMBER[KMG]` item, within its ceiling."""
    known = set(field_names(Limits))
    key, _, value = item.partition("=")
    key, value = key.strip(), value.strip().upper()
    if key not in known or not value:
        raise ValueError(f"{ENVIRONMENT}: {item!r} is not one of {', '.join(sorted(known))}=NUMBER")
    unit = value[-1] if value[-1] in _UNITS else ""
    number = value[: len(value) - len(unit)]
    if not number.isdigit() or int(number) <= 0:
        raise ValueError(f"{ENVIRONMENT}: {item!r} needs a positive number (K, M, G allowed)")
    ceiling = CEILINGS.get(key, getattr(Limits(), key))
    if int(number) * _UNITS[unit] > ceiling:
        raise ValueError(f"{ENVIRONMENT}: {item!r} is above the ceiling {key}={ceiling}")
    return key, int(number) * _UNITS[unit]


class Budget:
    """What is left of the bounds for one archive given on the command line (shared by its nested ones)."""

    def __init__(self, limits: Limits, size: int = 0) -> None:
        self.limits = limits
        self.bytes_left = limits.total
        self.members_left = limits.members
        self.produced = 0
        self.size = 0
        self.allowed = limits.floor
        self.grow(size)

    def grow(self, size: int) -> None:
        """`size` more bytes of input (the archive's file, or an image layout's blob) were met."""
        self.size += size
        self.allowed = self.limits.floor + self.limits.ratio * self.size

    def spend(self, count: int) -> None:
        self.bytes_left -= count
        self.produced += count
        if self.bytes_left < 0:
            raise BoundExceededError(f"more than {size_text(self.limits.total)} decompressed: a decompression bomb")
        if self.produced > self.allowed:
            self._refuse()

    def _refuse(self) -> None:
        raise BoundExceededError(
            f"more than {_approximate(self.allowed)} decompressed from {_approximate(self.size)} (each member counting "
            f"{size_text(MEMBER_COST)}): a decompression bomb (the bound is ratio={self.limits.ratio} times its "
            f"size beyond floor={size_text(self.limits.floor)})"
        )

    def absorb(self, spent_bytes: int, members: int, produced: int) -> bool:
        """Charge what another process spent reading part of this archive (linkgate.archives.helper)
        with a copy of this budget; whether every bound still holds."""
        self.bytes_left -= spent_bytes
        self.members_left -= members
        self.produced += produced
        return self.bytes_left >= 0 and self.members_left >= 0 and self.produced <= self.allowed

    def member(self) -> None:
        """One more member: counted, and charged MEMBER_COST against the ratio bound, so a small
        archive of a huge number of empty members is refused as early as a bomb of zeros."""
        self.members_left -= 1
        if self.members_left < 0:
            raise BoundExceededError(f"more than {self.limits.members} members")
        self.produced += MEMBER_COST
        if self.produced > self.allowed:
            self._refuse()


def size_text(count: int) -> str:
    for unit, scale in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if count >= scale and count % scale == 0:
            return f"{count // scale} {unit}"
    return f"{count} bytes"


def _approximate(count: int) -> str:
    for unit, scale in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"
