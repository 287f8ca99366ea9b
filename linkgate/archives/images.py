"""Container images: an OCI image layout (a directory or a tar of one) and `docker save` tars.

The image's filesystem is what its layers make, applied in order: an entry
replaces the one below it, `.wh.NAME` deletes NAME from the layers below and
`.wh..wh..opq` empties its directory of them. That final filesystem is judged,
so a binary a later layer deletes is not, and one it adds is.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import stat
import tarfile
from collections.abc import Iterator
from typing import Any, Protocol

from linkgate.archives.containers import read_inner_tar
from linkgate.archives.limits import ArchiveError, BoundExceededError
from linkgate.archives.members import Context
from linkgate.archives.streams import Stream
from linkgate.archives.tree import Entry, LinkLoopError, Node, Unit, clean_name, resolve
from linkgate.core.digest import Hasher, hasher

_JSON_LIMIT = 4 << 20
_INDEX_DEPTH = 4
_DIGEST = re.compile(r"^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$")
# The digest algorithms of the OCI image spec; a blob under any other cannot be verified.
_ALGORITHMS = {"sha256": 64, "sha512": 128}
_INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


class Store(Protocol):
    """The files of an image: members of a tar, or files of a directory, by relative name."""

    def open(self, name: str) -> Stream: ...

    def exists(self, name: str) -> bool: ...


class TarStore:
    """Members of a seekable tar, by cleaned name; symlinks among them followed (docker save links layers)."""

    def __init__(self, tar: tarfile.TarFile, context: Context) -> None:
        self._tar = tar
        self._members: dict[str, tarfile.TarInfo] = {}
        for info in tar.getmembers():
            context.budget.member()
            name, _refused = clean_name(info.name, context.limits.name)
            if name is not None:
                self._members[name] = info
        self._hops = context.limits.links

    def exists(self, name: str) -> bool:
        info = self._find(name)
        return info is not None and info.isreg()

    def open(self, name: str) -> Stream:
        info = self._find(name)
        if info is None or not info.isreg():
            raise ArchiveError(f"image file {name} is missing")
        data = self._tar.extractfile(info)
        assert data is not None  # a regular member always has data
        return data

    def _find(self, name: str) -> tarfile.TarInfo | None:
        info = self._members.get(name)
        for _ in range(self._hops):
            if info is None or not info.issym():
                break
            name = posixpath.normpath(posixpath.join(posixpath.dirname(name), info.linkname))
            info = self._members.get(name)
        return info


class DirectoryStore:
    """Files under an OCI layout directory; never a symlink out of it, never a special file.

    Each file opened is input of the image: its size is added to the budget's allowance.
    """

    def __init__(self, root: str, context: Context) -> None:
        self._root = root
        self._budget = context.budget

    def exists(self, name: str) -> bool:
        return os.path.isfile(os.path.join(self._root, name))

    def open(self, name: str) -> Stream:
        path = os.path.join(self._root, name)
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as error:
            raise ArchiveError(f"image file {name} cannot be opened: {error.strerror}") from None
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            os.close(descriptor)
            raise ArchiveError(f"image file {name} is not a regular file")
        self._budget.grow(info.st_size)
        return os.fdopen(descriptor, "rb", buffering=1 << 20)  # layers are read in large pieces


def is_image(store: Store) -> bool:
    """The structure of an image is complete: an OCI layout's `oci-layout` (an object naming its
    version) and `index.json`, or docker save's `manifest.json`, a list of objects each naming a
    Config and Layers that are files of the store. Anything less is an ordinary tar that happens
    to hold such a name, and its members are judged as `tar -x` unpacks them."""
    try:
        if store.exists("oci-layout"):
            layout = _json(store, "oci-layout")
            return (
                isinstance(layout, dict)
                and isinstance(layout.get("imageLayoutVersion"), str)
                and store.exists("index.json")
            )
        return store.exists("manifest.json") and _docker_manifest_complete(store, _json(store, "manifest.json"))
    except ArchiveError:
        return False


def _docker_manifest_complete(store: Store, manifest: object) -> bool:
    if not isinstance(manifest, list) or not manifest:
        return False
    for image in manifest:
        config = image.get("Config") if isinstance(image, dict) else None
        layers = image.get("Layers") if isinstance(image, dict) else None
        if not isinstance(config, str) or not isinstance(layers, list):
            return False
        names = [config, *layers]
        if not all(isinstance(name, str) and _exists(store, name) for name in names):
            return False
    return True


def _exists(store: Store, raw: str) -> bool:
    name, _refused = clean_name(raw, 4096)
    return name is not None and store.exists(name)


class _Layer:
    """A layer blob: its name in the store, and the digest it must have (docker save names none)."""

    __slots__ = ("digest", "name", "size")

    def __init__(self, name: str, digest: str = "", size: int | None = None) -> None:
        self.name, self.digest, self.size = name, digest, size


def read_image(store: Store, context: Context) -> Unit:
    """The final filesystem of the image, or of each image the layout holds (then named by tag)."""
    images = list(_oci_images(store) if store.exists("oci-layout") else _docker_images(store))
    if not images:
        raise ArchiveError("container image without a manifest")
    if len(images) == 1:
        return compose(store, images[0][1], context)
    unit = Unit("images")
    for reference, layers in images:
        unit.nodes[reference] = Node(kind=Entry.FILE, nested=compose(store, layers, context.inside(reference)))
    return unit


def compose(store: Store, layers: list[_Layer], context: Context) -> Unit:
    """The filesystem the layers make, applied in order as umoci, containerd and docker unpack them."""
    final = Unit("image", installed=True, absolute_names=True)
    parents: set[str] = set()  # every directory a member of `final` was ever under: removals look only there
    for index, blob in enumerate(layers):
        layer = Unit("layer", installed=True, absolute_names=True)
        layer.below = final
        try:
            _read_layer(store, blob, layer, context)
        except BoundExceededError:
            raise
        except ArchiveError as error:
            final.problems.append(("", f"layer {index + 1} ({blob.name}): {error}"))
        if context.helper is not None:
            context.helper.settle()  # the layer's jars in place before its nodes and problems move
        _apply(final, layer, context.limits.links, parents)
        final.problems.extend(layer.problems)
    return final


def _apply(final: Unit, layer: Unit, hops: int, parents: set[str]) -> None:
    """One layer onto the filesystem below it. A path's parent directories are resolved through
    the symlinks already there (`lib/.wh.libfoo.so.1` deletes `usr/lib/libfoo.so.1` when `lib`
    links to `usr/lib`), as the runtimes unpack through a rootfs; the last component never is."""
    for directory in layer.opaque:
        placed = _placed(final, directory + "/", hops, layer)
        if placed is not None:
            _remove_under(final, placed.rstrip("/"), parents)
    for name in layer.whiteouts:
        placed = _placed(final, name, hops, layer)
        if placed is not None:
            final.nodes.pop(placed, None)
            _remove_under(final, placed, parents)
    for name, node in layer.nodes.items():
        placed = _placed(final, name, hops, layer)
        if placed is None:
            continue
        if node.kind is not Entry.DIRECTORY:
            _remove_under(final, placed, parents)  # a file or link replaces a directory and all below it
        final.nodes[placed] = node
        parents.update(_ancestors(placed))


def _placed(final: Unit, name: str, hops: int, layer: Unit) -> str | None:
    """Where `name` lands in `final`: its parent directories resolved through final's symlinks."""
    parent, base = posixpath.split(name)
    try:
        where = resolve(final, parent, hops) if parent else ""
    except LinkLoopError as error:
        layer.problems.append((name, str(error)))
        return None
    return posixpath.join(where, base) if where else base


def _ancestors(name: str) -> Iterator[str]:
    while "/" in name:
        name = name.rsplit("/", 1)[0]
        yield name


def _read_layer(store: Store, blob: _Layer, layer: Unit, context: Context) -> None:
    stream = _verified(store, blob)
    try:
        read_inner_tar(stream, layer, context, "layer", layer=True)
        if isinstance(stream, _Verified):
            stream.finish()
    finally:
        stream.close()


def _remove_under(unit: Unit, directory: str, parents: set[str]) -> None:
    if directory and directory not in parents:
        return  # nothing was ever below it
    prefix = directory + "/" if directory else ""
    for name in [n for n in unit.nodes if n.startswith(prefix)]:
        del unit.nodes[name]


def _json(store: Store, name: str, blob: _Layer | None = None) -> Any:
    handle = _verified(store, blob) if blob is not None else store.open(name)
    try:
        data = handle.read(_JSON_LIMIT + 1)
        if len(data) > _JSON_LIMIT:
            raise ArchiveError(f"image file {name} is larger than {_JSON_LIMIT >> 20} MiB")
        if isinstance(handle, _Verified):
            handle.finish()
    finally:
        handle.close()
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise ArchiveError(f"image file {name} is not valid JSON: {error}") from None


class _Verified:
    """A blob read through its digest: `finish` reads what is left and refuses a mismatch, as umoci
    does (such an image cannot be pulled or unpacked)."""

    def __init__(self, stream: Stream, blob: _Layer, hasher: Hasher) -> None:
        self._stream, self._blob, self._hash = stream, blob, hasher
        self._size = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._hash.update(data)
        self._size += len(data)
        return data

    def close(self) -> None:
        self._stream.close()

    def finish(self) -> None:
        while self.read(1 << 20):
            pass
        expected = self._blob.digest.split(":", 1)[1]
        if self._hash.hexdigest() != expected:
            raise ArchiveError(f"blob {self._blob.name} does not match its digest {self._blob.digest[:80]}")
        if self._blob.size is not None and self._size != self._blob.size:
            raise ArchiveError(f"blob {self._blob.name} is {self._size} bytes, its descriptor says {self._blob.size}")


def _verified(store: Store, blob: _Layer) -> Stream:
    if not blob.digest:
        return store.open(blob.name)
    return _Verified(store.open(blob.name), blob, hasher(blob.digest.split(":", 1)[0]))


def _blob(descriptor: object) -> _Layer:
    fields = _object(descriptor, "image descriptor")
    digest, size = fields.get("digest"), fields.get("size")
    match = _DIGEST.match(digest) if isinstance(digest, str) else None
    if match is None or not isinstance(digest, str):
        raise ArchiveError(f"image descriptor without a valid digest: {str(digest)[:100]}")
    algorithm, encoded = match.group(1), match.group(2)
    if _ALGORITHMS.get(algorithm) != len(encoded) or not re.fullmatch("[0-9a-f]+", encoded):
        raise ArchiveError(f"image descriptor digest {digest[:100]} is not a sha256 or sha512 digest")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise ArchiveError(f"image descriptor size is not a number: {str(size)[:40]}")
    return _Layer(f"blobs/{algorithm}/{encoded}", digest, size)


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ArchiveError(f"{what} is not a JSON object")
    return value


def _oci_images(store: Store, blob: _Layer | None = None, depth: int = 0) -> Iterator[tuple[str, list[_Layer]]]:
    if depth > _INDEX_DEPTH:
        raise ArchiveError("image indexes nested too deep")
    name = blob.name if blob is not None else "index.json"
    manifests = _object(_json(store, name, blob), f"image index {name}").get("manifests")
    if not isinstance(manifests, list):
        raise ArchiveError(f"image index {name} has no manifests list")
    for descriptor in manifests:
        fields = _object(descriptor, f"a descriptor of image index {name}")
        annotations = fields.get("annotations") or {}
        if not isinstance(annotations, dict):
            raise ArchiveError(f"annotations in image index {name} are not a JSON object")
        if "vnd.docker.reference.type" in annotations:
            continue  # build attestations (SBOM, provenance): not a filesystem
        if fields.get("mediaType") in _INDEX_TYPES:
            yield from _oci_images(store, _blob(descriptor), depth + 1)
            continue
        manifest_blob = _blob(descriptor)
        layers = _object(_json(store, manifest_blob.name, manifest_blob), "image manifest").get("layers")
        if not isinstance(layers, list):
            raise ArchiveError("image manifest has no layers list")
        reference = annotations.get("org.opencontainers.image.ref.name") or manifest_blob.digest[:19]
        yield str(reference), [_blob(layer) for layer in layers]


def _docker_images(store: Store) -> Iterator[tuple[str, list[_Layer]]]:
    manifest = _json(store, "manifest.json")
    if not isinstance(manifest, list):
        raise ArchiveError("docker manifest.json is not a list of images")
    for image in manifest:
        fields = _object(image, "a docker manifest.json entry")
        layers = fields.get("Layers")
        if not isinstance(layers, list) or not all(isinstance(layer, str) for layer in layers):
            raise ArchiveError("docker manifest.json entry has no Layers list")
        names = [clean_name(layer, 4096) for layer in layers]
        if any(name is None for name, _ in names):
            raise ArchiveError("docker manifest.json names a layer outside the archive")
        yield _docker_reference(fields), [_Layer(str(name)) for name, _ in names]


def _docker_reference(fields: dict[str, Any]) -> str:
    tags = fields.get("RepoTags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
        raise ArchiveError("docker manifest.json RepoTags is not a list of names")
    return tags[0] if tags else str(fields.get("Config", "?"))
