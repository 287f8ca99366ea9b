"""A server's root streamed as a tar (`profile capture --root server.tar`, or `--root -`).

Old servers often have no Python: the documented one-liner (docs/targets.md) streams
their libraries, ld.so.conf, ld.so.cache and os-release as a tar over ssh. The
members are unpacked into a private temporary directory, read there by the same
capture as a mounted root (RootFs resolves their absolute symlinks inside it),
and removed. Only directories, regular files and symlinks are unpacked; names
are cleaned as the archive readers clean them (no absolute paths, no `..`), and
sizes are bounded by the archive limits (LINKGATE_ARCHIVE_LIMITS).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, cast

from linkgate.archives.limits import Limits
from linkgate.archives.streams import Ending
from linkgate.archives.tarnames import TarNames
from linkgate.archives.tree import clean_name
from linkgate.profiles.rootfs import RootFs

_CHUNK = 1 << 20


class TarRootError(Exception):
    """The stream is not a tar, or it breaks a bound."""


@contextmanager
def unpacked_root(stream: BinaryIO, limits: Limits) -> Iterator[str]:
    """A temporary directory holding the tar's root; removed afterwards."""
    directory = tempfile.mkdtemp(prefix="linkgate-root-")
    try:
        _unpack(stream, directory, limits)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _unpack(stream: BinaryIO, directory: str, limits: Limits) -> None:
    budget = [limits.total, limits.members]
    try:
        # Ending: a member that claims more data than follows must end the read, not loop (streams.Ending).
        with tarfile.open(fileobj=cast(BinaryIO, Ending(stream)), mode="r|*", tarinfo=TarNames) as tar:
            for info in tar:
                name, _why = clean_name(info.name, limits.name)
                if name is not None:
                    _spend(budget, info.size if info.isreg() else 0)
                    path = _inside(directory, name)
                    if info.islnk():
                        _hard_link(directory, info.linkname, path, limits)
                    else:
                        _place(tar, info, path, limits)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise TarRootError(f"cannot read the tar: {error}") from None


def _spend(budget: list[int], size: int) -> None:
    budget[0] -= size
    budget[1] -= 1
    if budget[0] < 0 or budget[1] < 0:
        raise TarRootError("the tar exceeds the archive limits (LINKGATE_ARCHIVE_LIMITS)")


def _inside(directory: str, name: str) -> str:
    """Where member `name` goes: its parent resolved inside the root, as the target would resolve it.

    A member under an earlier symlink (`lib/x86_64-linux-gnu/...` after `lib -> /usr/lib`) is
    written where the link leads within the root, never through the link onto the host.
    """
    parent, base = posixpath.split(name)
    resolved = RootFs(directory).host_path("/" + parent)
    if resolved is None:
        raise TarRootError(f"{name}: symlink loop in its directory")
    return os.path.join(resolved, base)


def _hard_link(directory: str, target: str, path: str, limits: Limits) -> None:
    """GNU tar stores a file it meets again (same inode) as a hard link to its first name."""
    name, _why = clean_name(target, limits.name)
    source = None if name is None else _inside(directory, name)
    if source is None or os.path.abspath(source) == os.path.abspath(path) or os.path.islink(source):
        return
    if os.path.isfile(source):
        _clear(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.link(source, path)


def _clear(path: str) -> None:
    if os.path.lexists(path) and not os.path.isdir(path):
        os.unlink(path)  # a later member of the same name wins, as tar itself does


def _place(tar: tarfile.TarFile, info: tarfile.TarInfo, path: str, limits: Limits) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _clear(path)
    if info.isdir():
        os.makedirs(path, exist_ok=True)
    elif info.issym():
        os.symlink(info.linkname, path)  # read through RootFs, which resolves it inside the root
    elif info.isreg():
        if info.size > limits.member:
            raise TarRootError(f"{info.name}: member larger than the archive limits")
        _copy(tar, info, path)


def _copy(tar: tarfile.TarFile, info: tarfile.TarInfo, path: str) -> None:
    source = tar.extractfile(info)
    if source is None:
        return
    with source, open(path, "wb") as target:
        shutil.copyfileobj(source, target, _CHUNK)
