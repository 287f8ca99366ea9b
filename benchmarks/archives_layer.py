"""Image layers as CI meets them: a generated multi-hundred-MB gzip layer, the same layer as zstd and a
three-layer OCI image, read by `linkgate check` against the decompressors alone, in one run.

    python benchmarks/archives_layer.py generate [--megabytes 800] [--dir DIR]
    python benchmarks/archives_layer.py commands [--dir DIR] [--yardstick TREE]   # `NAME=COMMAND` per line
    python benchmarks/archives_layer.py decompress FILE {zlib,isal,zlib-ng,zstd}   # decompress only
    python benchmarks/archives_layer.py check --inflater {auto,zlib} PATH...      # linkgate check

`generate` samples the host's /usr (a fixed, even sample: a file is taken when the CRC-32 of its path
falls under the share that gives about --megabytes unpacked; ELF programs and libraries, scripts,
data, symlinks, as a real layer holds them) into layer.tar, then layer.tar.gz (`gzip -6`),
layer.tar.zst (`zstd -3`) and an OCI image layout (oci/, the sample split into three gzip layers).
benchmarks/archives_layer.sh times every command of `commands`, in turn round after round
(benchmarks/interleaved.py). `--yardstick TREE` adds `linkgate check` of another checkout (PYTHONPATH=TREE),
e.g. the main branch, to compare with.

`check --inflater zlib` runs linkgate as if neither ISA-L nor zlib-ng were installed (their imports
fail), to compare the fallback; the verdicts must be the same.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import subprocess
import sys
import tarfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DIR = REPO / "tests" / ".build" / "bench-layer"
SOURCE = Path("/usr")
CHUNK = 1 << 20
POLICY = "default"


def sampled(megabytes: int) -> list[Path]:
    """An even sample of /usr's files and symlinks, about `megabytes` of file bytes, in path order."""
    everything: list[tuple[Path, int]] = []
    for root, directories, files in os.walk(SOURCE):
        directories.sort()
        for name in sorted(files):
            path = Path(root, name)
            try:
                size = 0 if path.is_symlink() else path.stat().st_size
            except OSError:
                continue
            everything.append((path, size))
    total = sum(size for _, size in everything)
    share = min(1.0, megabytes * 1_000_000 / max(total, 1))
    cut = int(share * 0xFFFFFFFF)
    return [path for path, _ in everything if zlib.crc32(str(path).encode()) <= cut]


def write_tar(paths: list[Path], out: Path) -> None:
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in paths:
            if path.is_symlink() or path.is_file():
                try:
                    tar.add(path, arcname=str(path.relative_to("/")), recursive=False)
                except OSError:
                    continue


def compress(tool: list[str], source: Path, out: Path) -> None:
    with source.open("rb") as data, out.open("wb") as sink:
        subprocess.run(tool, stdin=data, stdout=sink, check=True)


def _blob(blobs: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def write_oci(paths: list[Path], work: Path, out: Path) -> None:
    """An OCI image layout of three gzip layers (the sample split by path hash)."""
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    layers, diff_ids = [], []
    for number in range(3):
        part = [p for p in paths if zlib.crc32(str(p).encode()) % 3 == number]
        plain = work / f"layer{number}.tar"
        write_tar(part, plain)
        diff_ids.append("sha256:" + hashlib.sha256(plain.read_bytes()).hexdigest())
        packed = work / f"layer{number}.tar.gz"
        compress(["gzip", "-6", "-n"], plain, packed)
        plain.unlink()
        layer = _blob(blobs, packed.read_bytes())
        packed.unlink()
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer})
    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    config_blob = {"mediaType": "application/vnd.oci.image.config.v1+json", **_blob(blobs, json.dumps(config).encode())}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_blob, "layers": layers}  # fmt: skip
    manifest_blob = _blob(blobs, json.dumps(manifest).encode())
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest_blob}]}  # fmt: skip
    (out / "index.json").write_text(json.dumps(index))
    (out / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')


def generate(directory: Path, megabytes: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    paths = sampled(megabytes)
    plain = directory / "layer.tar"
    write_tar(paths, plain)
    compress(["gzip", "-6", "-n"], plain, directory / "layer.tar.gz")
    compress(["zstd", "-3", "-q", "-c"], plain, directory / "layer.tar.zst")
    write_oci(paths, directory, directory / "oci")
    for name in ("layer.tar", "layer.tar.gz", "layer.tar.zst"):
        print(f"{name}: {(directory / name).stat().st_size / 1e6:.0f} MB")
    print(f"{len(paths)} files and symlinks sampled from {SOURCE}")


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def decompress(path: Path, inflater: str) -> int:
    """Decompress only (the output is dropped): what each library alone costs."""
    total = 0
    if inflater == "zstd":  # linkgate's own zstd decoder: compression.zstd, or its backport before 3.14
        zstd: Any = importlib.import_module("compression.zstd" if sys.version_info >= (3, 14) else "backports.zstd")
        with zstd.ZstdFile(path) as reader:
            while chunk := reader.read(CHUNK):
                total += len(chunk)
        return total
    names = {"isal": "isal.isal_zlib", "zlib-ng": "zlib_ng.zlib_ng", "zlib": "zlib"}
    decoder = importlib.import_module(names[inflater]).decompressobj(wbits=16 + 15)
    for chunk in _chunks(path):
        total += len(decoder.decompress(chunk))
    return total


def check(paths: list[str], inflater: str) -> int:
    """`linkgate check --policy default PATHS`; with --inflater zlib, as if no fast inflater were installed."""
    if inflater == "zlib":
        hidden: Any = None  # an import of a module whose sys.modules entry is None fails
        sys.modules.update({"isal": hidden, "zlib_ng": hidden})
    from linkgate.cli import main  # noqa: PLC0415 - after the inflaters were hidden

    sys.argv = ["linkgate", "check", "--policy", POLICY, "--format", "json", *paths]
    return main()


def commands(directory: Path, yardstick: Path | None = None) -> list[tuple[str, str]]:
    python = sys.executable
    me = Path(__file__).resolve()
    gz, zst, oci = directory / "layer.tar.gz", directory / "layer.tar.zst", directory / "oci"
    unpacked = directory / "unpacked"
    # Run from the yardstick's own tree: `python -m` puts the current directory first on the path,
    # so from this checkout it would import this checkout's linkgate whatever PYTHONPATH says.
    other = [] if yardstick is None else [
        (f"linkgate check layer.tar.gz ({yardstick.name})",
         f"sh -c 'cd {yardstick} && exec {python} -m linkgate check --policy {POLICY} --format json {gz}'"),
        (f"linkgate check layer.tar.zst ({yardstick.name})",
         f"sh -c 'cd {yardstick} && exec {python} -m linkgate check --policy {POLICY} --format json {zst}'"),
        (f"linkgate check oci (3 gzip layers) ({yardstick.name})",
         f"sh -c 'cd {yardstick} && exec {python} -m linkgate check --policy {POLICY} --format json {oci}'"),
    ]  # fmt: skip
    return [
        ("isal decompress only", f"{python} {me} decompress {gz} isal"),
        ("gzip -dc", f"sh -c 'gzip -dc {gz} > /dev/null'"),
        ("zstd -dc", f"sh -c 'zstd -dc {zst} > /dev/null'"),
        ("zlib decompress only", f"{python} {me} decompress {gz} zlib"),
        ("zlib-ng decompress only", f"{python} {me} decompress {gz} zlib-ng"),
        ("zstd decompress only", f"{python} {me} decompress {zst} zstd"),
        ("linkgate check layer.tar.gz", f"{python} {me} check --inflater auto {gz}"),
        ("linkgate check layer.tar.gz (stdlib zlib)", f"{python} {me} check --inflater zlib {gz}"),
        ("linkgate check layer.tar.zst", f"{python} {me} check --inflater auto {zst}"),
        ("linkgate check oci (3 gzip layers)", f"{python} {me} check --inflater auto {oci}"),
        ("tar -xzf + linkgate check", f"sh -c 'rm -rf {unpacked} && mkdir {unpacked} && tar -xzf {gz} -C {unpacked}"
                                      f" && {python} -m linkgate check --policy {POLICY} --format json {unpacked}"
                                      f" > /dev/null; rm -rf {unpacked}'"),
        *other,
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    make = sub.add_parser("generate")
    make.add_argument("--megabytes", type=int, default=800)
    make.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    listing = sub.add_parser("commands")
    listing.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    listing.add_argument("--yardstick", type=Path, help="another checkout's tree, checked the same way")
    only = sub.add_parser("decompress")
    only.add_argument("file", type=Path)
    only.add_argument("inflater", choices=["zlib", "isal", "zlib-ng", "zstd"])
    checking = sub.add_parser("check")
    checking.add_argument("--inflater", choices=["auto", "zlib"], default="auto")
    checking.add_argument("paths", nargs="+")
    args = parser.parse_args()
    if args.what == "generate":
        started = time.monotonic()
        generate(args.dir, args.megabytes)
        print(f"generated in {time.monotonic() - started:.0f} s")
        return 0
    if args.what == "commands":
        for name, command in commands(args.dir, args.yardstick):
            print(f"{name}={command}")
        return 0
    if args.what == "decompress":
        print(decompress(args.file, args.inflater), file=sys.stderr)
        return 0
    return check(args.paths, args.inflater)


if __name__ == "__main__":
    sys.exit(main())
