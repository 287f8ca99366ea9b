"""The compiled policy, cached between runs so that `check` skips YAML parsing and validation.

An entry is keyed by what names the policy (the --policy value, or the linkgate.yml found,
with the working directory for relative paths) and linkgate's own code (its version and the
size and modification time of every module: a pickled object must match the classes that load it). It records every file
the policy was compiled from with the SHA-256 of its content; an entry is used only while
every one of them still hashes the same, so any edit is validated again on the next run.

Entries live under $XDG_CACHE_HOME/linkgate (else ~/.cache/linkgate). Loading an entry runs
pickle, and a permissive policy's entry renamed onto a strict one's name would pass what the
strict one fails, so: every entry carries its full key and is used only under that key; the
`linkgate` directory is used only when it is a real directory owned by the user and writable by
no one else (each directory linkgate creates on the way is made so, mode 0700); an entry owned by
someone else or writable by others is ignored. LINKGATE_NO_CACHE=1 turns the cache off. A cache
that cannot be read or written is silently skipped: it only ever saves time.
"""

from __future__ import annotations

import os
import pickle
import stat
from collections.abc import Callable, Mapping

from linkgate import __version__
from linkgate.core.digest import sha256_hex
from linkgate.core.records import replace
from linkgate.policy.compiled import CompiledPolicy

FORMAT = 2
# (FORMAT, the full key the entry was stored under, (source, SHA-256) pairs, the policy)
Entry = tuple[int, str, tuple[tuple[str, str], ...], CompiledPolicy]


def cache_dir(environ: Mapping[str, str]) -> str | None:
    if environ.get("LINKGATE_NO_CACHE"):
        return None
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "linkgate") if os.path.isabs(base) else None


def cached_policy(key: str, directory: str | None, compile_policy: Callable[[], CompiledPolicy]) -> CompiledPolicy:
    """The cached compiled policy for `key` if its sources are unchanged, else `compile_policy()`, stored."""
    full_key = f"{_code_stamp()}|{key}"
    name = f"{sha256_hex(full_key.encode())}.pickle"
    entry_path = None if directory is None else os.path.join(directory, name)
    if entry_path is not None and _trusted(directory):
        found = _load(entry_path, full_key)
        if found is not None:
            return found
    policy = compile_policy()
    if entry_path is not None and _prepared(os.path.dirname(entry_path)):
        _store(entry_path, full_key, policy)
    return policy


def _trusted(directory: str | None) -> bool:
    """A real directory (not a symlink), the user's own, that nobody else can write."""
    if directory is None:
        return False
    try:
        info = os.lstat(directory)
    except OSError:
        return False
    private = not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and private


def _prepared(directory: str) -> bool:
    """`directory`, created as needed with each new component private (0700), and trusted."""
    missing: list[str] = []
    path = directory
    while not os.path.lexists(path) and os.path.dirname(path) != path:
        missing.append(path)
        path = os.path.dirname(path)
    try:
        for component in reversed(missing):
            os.mkdir(component, 0o700)  # the umask may only take bits away
    except OSError:
        return False
    return all(_trusted(component) for component in [*missing, directory])


def _load(path: str, full_key: str) -> CompiledPolicy | None:
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return None
            entry = pickle.load(handle)  # noqa: S301 - our own file, in a directory only we can write
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None
    if not (isinstance(entry, tuple) and len(entry) == 4 and entry[0] == FORMAT and entry[1] == full_key):
        return None  # an entry stored under another key (renamed onto this name) is not this policy's
    _format, _key, sources, policy = entry
    if not isinstance(policy, CompiledPolicy) or not all(_hash(p) == h for p, h in sources):
        return None
    return policy


def _store(path: str, full_key: str, policy: CompiledPolicy) -> None:
    sources: list[tuple[str, str]] = []
    for source in policy.sources:
        digest = _hash(source)
        if digest is None:
            return
        sources.append((source, digest))
    entry: Entry = (FORMAT, full_key, tuple(sources), replace(policy, _configured={}, _need_verdicts={}))
    try:
        directory, name = os.path.split(path)
        temporary = os.path.join(directory, f".{name}.{os.getpid()}")
        # Private whatever the umask (a group-writable entry would be ignored), and never through a link.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            pickle.dump(entry, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)  # readers see the old entry or the whole new one
    except (OSError, pickle.PicklingError):
        return


def _code_stamp() -> str:
    """linkgate's version and the size and mtime of its modules: an edit or upgrade changes it."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    stamps = [__version__]
    for directory, _dirs, files in os.walk(package):
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(directory, name))
                stamps.append(f"{name}:{info.st_size}:{info.st_mtime_ns}")
    return sha256_hex("|".join(stamps).encode())


def _hash(path: str) -> str | None:
    """The SHA-256 of a file's content, or of a directory's listing (a preset appearing changes it)."""
    try:
        if os.path.isdir(path):
            return sha256_hex("\n".join(sorted(os.listdir(path))).encode())
        with open(path, "rb") as handle:
            return sha256_hex(handle.read())
    except OSError:
        return None
