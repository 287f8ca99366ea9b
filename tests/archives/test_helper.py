"""A large tar's nested zips read by a helper process give the reports of reading them in one process.

Every case reads the same layer both ways (the helper forced on for any size, and off) and requires
equal results, and that the helper was given the zips. The layers are written with the stdlib's
tarfile and zipfile (the bytes are what matters: a corrupt zip, a bad CRC, a hard link to a jar)
around real ELF files of this machine.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import signal
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from linkgate.archives import helper, read
from linkgate.archives.limits import Limits
from linkgate.archives.sniff import archive_kind
from linkgate.check.archive_scan import ArchiveOptions, check_archive
from linkgate.check.discover import Candidate
from linkgate.commands.shared import compiled_policy
from linkgate.core.findings import ArtifactResult
from tests.helpers.archive_builds import oci_layout
from tests.helpers.archives import docker_archive

TODAY = datetime.date(2027, 1, 15)
LIBZ = Path("/usr/lib/x86_64-linux-gnu/libz.so.1")
TRUE = Path("/usr/bin/true")


def jar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_bad_crc(data: bytes) -> bytes:
    """A one-member zip whose stored CRC-32 (local header and central directory) is wrong."""
    crc = zipfile.ZipFile(io.BytesIO(data)).infolist()[0].CRC.to_bytes(4, "little")
    return data.replace(crc, bytes(b ^ 0xFF for b in crc))


def classes(count: int) -> dict[str, bytes]:
    return {f"com/example/C{index}.class": b"\xca\xfe\xba\xbe" + bytes(index % 251) * 40 for index in range(count)}


def layer_members() -> list[tuple[str, bytes | str]]:
    """(name, bytes) of each member in order; a str value is a hard link's target."""
    inner = jar({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "native/libtrue.so": TRUE.read_bytes()})
    main = jar({**classes(300), "native/linux-x86_64/libz.so.1": LIBZ.read_bytes(), "lib/inner.jar": inner})
    return [
        ("usr/bin/true", TRUE.read_bytes()),
        ("app/lib/main.jar", main),
        ("app/lib/plain.jar", jar(classes(50))),
        ("app/lib/broken.jar", b"PK\x03\x04" + b"not a zip at all" * 64),
        ("app/lib/badcrc.jar", with_bad_crc(jar({"a.txt": b"some text that is compressed" * 3}))),
        ("app/lib/tool.whl", jar({"tool/_native.so": LIBZ.read_bytes(), "tool-1.0.dist-info/WHEEL": b"Tag: x\n"})),
        ("app/lib/twice.jar", jar({"first.so": TRUE.read_bytes()})),
        ("app/lib/linked.jar", "app/lib/main.jar"),
        ("app/lib/twice.jar", jar({"second.so": LIBZ.read_bytes()})),
        ("usr/lib/libz.so.1", LIBZ.read_bytes()),
    ]


def write_layer(path: Path, members: list[tuple[str, bytes | str]], cut: int = 0) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if isinstance(data, str):
                info.type, info.linkname = tarfile.LNKTYPE, data
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o755
                tar.addfile(info, io.BytesIO(data))
    raw = buffer.getvalue()
    import gzip  # noqa: PLC0415 - only these layers need it

    path.write_bytes(gzip.compress(raw[: len(raw) - cut] if cut else raw))
    return path


def judged(archive: Path, *, helped: bool, limits: Limits | None = None) -> tuple[ArtifactResult, ...]:
    options = ArchiveOptions(compiled_policy("default", str(archive.parent)), TODAY, limits or Limits(), helper=helped)
    if archive.is_dir():  # an OCI image layout
        return check_archive(Candidate(archive.name, str(archive), image_layout=True), None, options)
    kind = archive_kind(archive.read_bytes()[:512])
    return check_archive(Candidate(archive.name, str(archive)), kind, options)


@contextlib.contextmanager
def failing_after(seconds: int) -> Iterator[None]:
    def hung(_signal: int, _frame: object) -> None:
        pytest.fail(f"still waiting after {seconds} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def handed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The helper forced on for archives of any size; the names of the zips it is given."""
    names: list[str] = []
    submit = helper.ZipHelper.submit

    def counted(self: helper.ZipHelper, *args: object, **kwargs: object) -> helper.Pending:
        names.append(str(args[1]))
        return submit(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(read, "WORTH_A_HELPER", 0)
    monkeypatch.setattr(helper.ZipHelper, "submit", counted)
    return names


@pytest.fixture
def layer(tmp_path: Path, reads: list[int]) -> tuple[Path, tuple[ArtifactResult, ...]]:
    """The layer of layer_members() and its results read in one process (not counted in `reads`)."""
    archive = write_layer(tmp_path / "layer.tar.gz", layer_members())
    alone = judged(archive, helped=False)
    reads.clear()
    return archive, alone


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each time the archive is read from its start (twice: the helper's reading was not used)."""
    started: list[int] = []
    from_start = read._read_from_start

    def counted(*args: object) -> object:
        started.append(1)
        return from_start(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(read, "_read_from_start", counted)
    return started


def test_the_helpers_reports_are_the_ones_of_reading_in_one_process(
    tmp_path: Path, handed: list[str], reads: list[int]
) -> None:
    archive = write_layer(tmp_path / "layer.tar.gz", layer_members())
    alone = judged(archive, helped=False)
    helped = judged(archive, helped=True)
    assert helped == alone
    expected = ["app/lib/main.jar", "app/lib/plain.jar", "app/lib/broken.jar", "app/lib/badcrc.jar",
                "app/lib/tool.whl", "app/lib/twice.jar", "app/lib/twice.jar"]  # fmt: skip
    assert handed == expected
    assert len(reads) == 2  # once each way: the helper's reading stood
    shown = {result.path for result in helped}
    # What it found: the jar's own library, the one in the jar in the jar, and the hard link's.
    assert "layer.tar.gz!app/lib/main.jar!native/linux-x86_64/libz.so.1" in shown
    assert "layer.tar.gz!app/lib/main.jar!lib/inner.jar!native/libtrue.so" in shown
    assert "layer.tar.gz!app/lib/linked.jar!native/linux-x86_64/libz.so.1" in shown
    assert "layer.tar.gz!app/lib/twice.jar!second.so" in shown
    assert "layer.tar.gz!app/lib/twice.jar!first.so" not in shown  # the second member of that name wins
    problems = [f.message for result in helped for f in result.findings if f.rule == "archive-format"]
    assert any("broken.jar" in result.path for result in helped if result.findings), problems


@pytest.mark.parametrize(
    "limits",
    [
        Limits(members=200),  # the jar alone passes the member bound: the helper says so
        Limits(members=340),  # the caller's members and the jar's together pass it: found by the sum
    ],
    ids=["in-the-helper", "by-the-sum"],
)
def test_a_bound_passed_reads_again_in_order(
    tmp_path: Path, handed: list[str], reads: list[int], limits: Limits
) -> None:
    archive = write_layer(tmp_path / "layer.tar.gz", layer_members())
    alone = judged(archive, helped=False, limits=limits)
    reads.clear()
    helped = judged(archive, helped=True, limits=limits)
    assert helped == alone
    assert handed  # the helper was given zips
    assert len(reads) == 2  # and its reading was not used: the archive was read again, in order
    assert any("more than" in f.message for result in helped for f in result.findings)


def test_a_helper_that_dies_leaves_the_reading_to_the_caller(
    layer: tuple[Path, tuple[ArtifactResult, ...]], handed: list[str], reads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, alone = layer
    dies: Callable[..., None] = lambda *_: os._exit(3)  # noqa: E731 - the helper process ends at once
    monkeypatch.setattr(helper, "_serve", dies)
    monkeypatch.setattr(helper, "_MOST_WAITING", 1)  # every zip waits for the one before: none is taken
    with failing_after(60):  # a caller left waiting for a helper that is gone would hang the suite
        assert judged(archive, helped=True) == alone
    assert handed
    assert len(reads) == 2


def test_an_archive_cut_short_after_its_jars_reports_as_in_one_process(tmp_path: Path, handed: list[str]) -> None:
    archive = write_layer(tmp_path / "layer.tar.gz", layer_members(), cut=len(LIBZ.read_bytes()) // 2)
    alone = judged(archive, helped=False)
    helped = judged(archive, helped=True)
    assert helped == alone
    assert handed
    assert [f.message for result in helped for f in result.findings if f.rule == "archive-format"]


def test_nested_archives_deeper_than_the_bound_are_refused_the_same_way(tmp_path: Path, handed: list[str]) -> None:
    archive = write_layer(tmp_path / "layer.tar.gz", layer_members())
    limits = Limits(depth=2)  # the jar is read; the jar in the jar is not
    helped = judged(archive, helped=True, limits=limits)
    assert helped == judged(archive, helped=False, limits=limits)
    assert handed
    assert any("nested deeper" in f.message for result in helped for f in result.findings)


def image_layers() -> list[dict[str, bytes | str]]:
    """Two layers: jars in the first; in the second, a jar, a hard link to a jar of the first and a
    whiteout of another (its problem, found in the first layer, stays)."""
    members = dict(item for item in layer_members() if not isinstance(item[1], str))
    first = {name: members[name] for name in ("usr/bin/true", "app/lib/main.jar", "app/lib/broken.jar")}
    first["app/lib/gone.jar"] = members["app/lib/broken.jar"]
    second: dict[str, bytes | str] = {
        "app/lib/plain.jar": members["app/lib/plain.jar"],
        "app/lib/linked.jar": "hard:app/lib/main.jar",
        "app/lib/.wh.gone.jar": b"",
        "usr/lib/libz.so.1": LIBZ.read_bytes(),
    }
    return [dict(first), second]


def test_an_images_layers_are_settled_before_they_are_applied(tmp_path: Path, handed: list[str]) -> None:
    archive = docker_archive(tmp_path / "image.tar", image_layers())
    alone = judged(archive, helped=False)
    helped = judged(archive, helped=True)
    assert helped == alone
    # Read as the image (the tar's first, plain reading sees the layers as nested tars: not handed over).
    assert handed == ["app/lib/main.jar", "app/lib/broken.jar", "app/lib/gone.jar", "app/lib/plain.jar"]
    shown = {result.path for result in helped}
    assert "image.tar!/app/lib/linked.jar!native/linux-x86_64/libz.so.1" in shown  # a hard link across layers
    problems = [(r.path, f.message) for r in helped for f in r.findings if f.rule == "archive-format"]
    assert any(path.endswith("gone.jar") for path, _ in problems), problems  # found in a layer, then deleted


@pytest.mark.parametrize("limits", [Limits(), Limits(members=320)], ids=["whole", "a-bound-passed"])
def test_an_image_layout_reads_its_jars_on_the_helper(tmp_path: Path, handed: list[str], limits: Limits) -> None:
    root = tmp_path / "root"
    for name, data in layer_members():
        if not isinstance(data, str) and name.startswith("usr/"):
            continue
        if isinstance(data, bytes):
            path = root / "usr/share" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    layout = oci_layout(root, tmp_path)
    helped = judged(layout, helped=True, limits=limits)
    assert helped == judged(layout, helped=False, limits=limits)
    assert "usr/share/app/lib/main.jar" in handed
    bound = [f.message for r in helped for f in r.findings if "more than 320 members" in f.message]
    assert bool(bound) == (limits.members == 320)


@pytest.mark.parametrize("thread", ["_Sender", "_Collector"])
def test_a_thread_that_ends_as_it_starts_leaves_the_reading_to_the_caller(
    layer: tuple[Path, tuple[ArtifactResult, ...]],
    handed: list[str],
    reads: list[int],
    monkeypatch: pytest.MonkeyPatch,
    thread: str,
) -> None:
    """Under `ulimit -v` a new thread can die of a MemoryError before it runs a line: nobody may wait on it."""
    archive, alone = layer
    monkeypatch.setattr(getattr(helper, thread), "_run", lambda _self: None)
    monkeypatch.setattr(helper, "_MOST_WAITING", 1)
    with failing_after(60):
        assert judged(archive, helped=True) == alone
    assert handed
    assert len(reads) == 2


def test_a_helper_whose_threads_cannot_start_is_not_used(
    layer: tuple[Path, tuple[ArtifactResult, ...]], handed: list[str], reads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, alone = layer

    def cannot(*_: object) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(helper._Collector, "__init__", cannot)
    assert judged(archive, helped=True) == alone
    assert not handed
    assert len(reads) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # the forked helper was reaped: no child is left
