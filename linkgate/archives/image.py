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
from typing import Any, BinaryIO, Protocol

from linkgate.archives.context import Context
from linkgate.archives.limits import ArchiveError, BoundExceededError
from linkgate.archives.streams import buffered
from linkgate.archives.tarread import read_inner_tar
from linkgate.archives.tree import Entry, Node, Unit, clean_name

_JSON_LIMIT = 4 << 20
_INDEX_DEPTH = 4
_DIGEST = re.compile(r"^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$")
_INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


class Store(Protocol):
    """The files of an image: members of a tar, or files of a directory, by relative name."""

    def open(self, name: str) -> BinaryIO: ...

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
        return name in self._members

    def open(self, name: str) -> BinaryIO:
        info = self._members.get(name)
        for _ in range(self._hops):
            if info is None or not info.issym():
                break
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), info.linkname))
            name, info = target, self._members.get(target)
        if info is None or not info.isreg():
            raise ArchiveError(f"image file {name} is missing")
        data = self._tar.extractfile(info)
        assert data is not None
        return data  # type: ignore[return-value]


class DirectoryStore:
    """Files under an OCI layout directory; never a symlink out of it, never a special file."""

    def __init__(self, root: str) -> None:
        self._root = root

    def exists(self, name: str) -> bool:
        return os.path.isfile(os.path.join(self._root, name))

    def open(self, name: str) -> BinaryIO:
        path = os.path.join(self._root, name)
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as error:
            raise ArchiveError(f"image file {name} cannot be opened: {error.strerror}") from None
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise ArchiveError(f"image file {name} is not a regular file")
        return os.fdopen(descriptor, "rb")


def is_image(store: Store) -> bool:
    return store.exists("oci-layout") or store.exists("manifest.json")


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


def compose(store: Store, layers: list[str], context: Context) -> Unit:
    final = Unit("image", installed=True, absolute_names=True)
    for index, layer_name in enumerate(layers):
        layer = Unit("layer", installed=True, absolute_names=True)
        try:
            with store.open(layer_name) as blob:  # a layout's layer file is closed once read
                _read_layer(blob, layer, context)
        except BoundExceededError:
            raise
        except ArchiveError as error:
            final.problems.append(("", f"layer {index + 1} ({layer_name}): {error}"))
        for directory in layer.opaque:
            _remove_under(final, directory)
        for name in layer.whiteouts:
            final.nodes.pop(name, None)
            _remove_under(final, name)
        for name, node in layer.nodes.items():
            if node.kind is not Entry.DIRECTORY:
                _remove_under(final, name)  # a file or link replaces a directory and all below it
            final.nodes[name] = node
        final.problems.extend(layer.problems)
    return final


def _read_layer(blob: BinaryIO, layer: Unit, context: Context) -> None:
    read_inner_tar(buffered(blob), layer, context, "layer", layer=True)  # type: ignore[arg-type]


def _remove_under(unit: Unit, directory: str) -> None:
    prefix = directory + "/" if directory else ""
    for name in [n for n in unit.nodes if n.startswith(prefix)]:
        del unit.nodes[name]


def _json(store: Store, name: str) -> Any:
    with store.open(name) as handle:
        data = handle.read(_JSON_LIMIT + 1)
    if len(data) > _JSON_LIMIT:
        raise ArchiveError(f"image file {name} is larger than {_JSON_LIMIT >> 20} MiB")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise ArchiveError(f"image file {name} is not valid JSON: {error}") from None


def _blob(descriptor: Any) -> str:
    digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
    match = _DIGEST.match(digest) if isinstance(digest, str) else None
    if match is None:
        raise ArchiveError(f"image descriptor without a valid digest: {str(digest)[:100]}")
    return f"blobs/{match.group(1)}/{match.group(2)}"


def _oci_images(store: Store, name: str = "index.json", depth: int = 0) -> Iterator[tuple[str, list[str]]]:
    if depth > _INDEX_DEPTH:
        raise ArchiveError("image indexes nested too deep")
    index = _json(store, name)
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list):
        raise ArchiveError(f"image index {name} has no manifests list")
    for descriptor in manifests:
        annotations = descriptor.get("annotations") or {} if isinstance(descriptor, dict) else {}
        if "vnd.docker.reference.type" in annotations:
            continue  # build attestations (SBOM, provenance): not a filesystem
        if descriptor.get("mediaType") in _INDEX_TYPES:
            yield from _oci_images(store, _blob(descriptor), depth + 1)
            continue
        manifest = _json(store, _blob(descriptor))
        layers = manifest.get("layers") if isinstance(manifest, dict) else None
        if not isinstance(layers, list):
            raise ArchiveError("image manifest has no layers list")
        reference = annotations.get("org.opencontainers.image.ref.name") or descriptor.get("digest", "?")[:19]
        yield str(reference), [_blob(layer) for layer in layers]


def _docker_images(store: Store) -> Iterator[tuple[str, list[str]]]:
    manifest = _json(store, "manifest.json")
    if not isinstance(manifest, list):
        raise ArchiveError("docker manifest.json is not a list of images")
    for image in manifest:
        layers = image.get("Layers") if isinstance(image, dict) else None
        if not isinstance(layers, list) or not all(isinstance(layer, str) for layer in layers):
            raise ArchiveError("docker manifest.json entry has no Layers list")
        tags = image.get("RepoTags") or [image.get("Config", "?")]
        names = [clean_name(layer, 4096) for layer in layers]
        if any(name is None for name, _ in names):
            raise ArchiveError("docker manifest.json names a layer outside the archive")
        yield str(tags[0]), [str(name) for name, _ in names]
