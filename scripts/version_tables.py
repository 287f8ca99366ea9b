"""The facts behind the version-level profiles (RHEL/Rocky, Ubuntu, Amazon Linux, Alpine).

glibc, GLIBCXX and CXXABI: the table in docs/glibc.md ("glibc per
platform"). GCC (libgcc_s) and ZLIB: the newest version each library defines
in the release the distribution ships (gcc 4.4 -> GCC_4.3.0 on x86_64; gcc 4.8 -> GCC_4.8.0; gcc 7 to 11 ->
GCC_7.0.0; gcc 12/14 -> GCC_12.0.0/GCC_14.0.0, as Debian 12/13's libgcc-s1
show; zlib 1.2.3 -> ZLIB_1.2.2.4, zlib 1.2.7 -> ZLIB_1.2.5.2, 1.2.11 -> ZLIB_1.2.9, 1.2.12+ -> ZLIB_1.2.12,
as Debian 11/13's zlib1g show).
"""

from __future__ import annotations

from dataclasses import dataclass

# machine -> the program interpreter at its ABI path (what a glibc build records in PT_INTERP).
GLIBC_LOADERS = {
    "x86_64": "/lib64/ld-linux-x86-64.so.2",
    "i386": "/lib/ld-linux.so.2",
    "aarch64": "/lib/ld-linux-aarch64.so.1",
    "arm": "/lib/ld-linux-armhf.so.3",
    "ppc64le": "/lib64/ld64.so.2",
    "ppc64": "/lib64/ld64.so.1",
    "s390x": "/lib/ld64.so.1",
    "riscv64": "/lib/ld-linux-riscv64-lp64d.so.1",
    "loongarch64": "/lib64/ld-linux-loongarch-lp64d.so.1",
}
MUSL_LOADERS = {
    "x86_64": "/lib/ld-musl-x86_64.so.1",
    "i386": "/lib/ld-musl-i386.so.1",
    "aarch64": "/lib/ld-musl-aarch64.so.1",
    "arm": "/lib/ld-musl-armhf.so.1",
    "ppc64le": "/lib/ld-musl-powerpc64le.so.1",
    "s390x": "/lib/ld-musl-s390x.so.1",
    "riscv64": "/lib/ld-musl-riscv64.so.1",
}
# Libraries of glibc itself: each defines GLIBC_* versions up to the release.
GLIBC_LIBRARIES = (
    "libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0", "libutil.so.1",
    "libresolv.so.2", "libanl.so.1",
)  # fmt: skip
# musl's loader answers every name of these libraries itself (ldso/dynlink.c, "reserved").
MUSL_BUILTINS = ("libc.*", "libpthread.*", "librt.*", "libm.*", "libdl.*", "libutil.*", "libxnet.*")

_RHEL = ("x86_64", "aarch64", "ppc64le", "s390x")
# Page sizes other than 4 KiB, by machine (aarch64 varies by release: Distro.aarch64_pages).
PAGE_SIZES = {"ppc64le": (65536,), "ppc64": (65536,), "loongarch64": (16384,)}
# RHEL 8 builds its aarch64 kernel with 64 KiB pages; RHEL 9.2+ and 10 ship 4 KiB plus kernel-64k;
# Ubuntu ships linux-generic-64k for arm64 since 22.04.
_WITH_64K = (4096, 65536)
_UBUNTU = ("x86_64", "aarch64", "arm", "ppc64le", "s390x")


def version_tuple(text: str) -> tuple[int, ...]:
    """Numeric comparison: "1.3.11" > "1.3.7" (as strings it would not be)."""
    return tuple(int(part) for part in text.split("."))


@dataclass(frozen=True)
class Distro:
    """One glibc-based release, at the level of its newest symbol versions."""

    name: str
    description: str
    glibc: str
    glibcxx: str
    cxxabi: str
    gcc: str
    zlib: str
    architectures: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    # libnsl.so.1 left glibc in 2.34 builds of RHEL 9 / Amazon Linux 2023 (a separate package there).
    libnsl: bool = True
    # The machine (docs/machine-floors.md): the kernel as shipped, the x86-64 level the release is
    # built for (its CPU baseline), and the page sizes of the aarch64 kernels it ships.
    kernel: str = ""
    isa: str = "x86-64-baseline"
    aarch64_pages: tuple[int, ...] = (4096,)

    def page_sizes(self) -> dict[str, tuple[int, ...]]:
        """machine -> the page sizes of its kernels (ppc64 kernels use 64 KiB pages, x86 and s390x 4 KiB)."""
        return {m: self.aarch64_pages if m == "aarch64" else PAGE_SIZES.get(m, (4096,)) for m in self.architectures}

    @property
    def glibc_tokens(self) -> tuple[str, ...]:
        """Non-numeric GLIBC versions the release defines (DT_RELR support from 2.36)."""
        return ("GLIBC_ABI_DT_RELR",) if version_tuple(self.glibc) >= (2, 36) else ()

    @property
    def cxxabi_tokens(self) -> tuple[str, ...]:
        """CXXABI_TM_1 since gcc 4.7 (CXXABI_1.3.6), CXXABI_FLOAT128 since gcc 5 (x86)."""
        if version_tuple(self.cxxabi) < (1, 3, 6):
            return ()
        return ("CXXABI_TM_1",) if version_tuple(self.cxxabi) <= (1, 3, 7) else ("CXXABI_TM_1", "CXXABI_FLOAT128")


DISTROS = (
    Distro("rhel-6", "Red Hat Enterprise Linux 6 / CentOS 6", "2.12", "3.4.13", "1.3.3", "4.3.0", "1.2.2.4",
           ("x86_64", "i386", "ppc64", "s390x"), ("centos-6",), kernel="2.6.32"),
    Distro("rhel-7", "Red Hat Enterprise Linux 7 / CentOS 7", "2.17", "3.4.19", "1.3.7", "4.8.0", "1.2.5.2",
           ("x86_64", "aarch64", "ppc64", "ppc64le", "s390x"), ("centos-7",), kernel="3.10",
           aarch64_pages=(65536,)),
    Distro("rhel-8", "Red Hat Enterprise Linux 8 / Rocky Linux 8 / AlmaLinux 8", "2.28", "3.4.25", "1.3.11",
           "7.0.0", "1.2.9", _RHEL, ("rocky-8", "almalinux-8"), kernel="4.18", aarch64_pages=(65536,)),
    Distro("rhel-9", "Red Hat Enterprise Linux 9 / Rocky Linux 9 / AlmaLinux 9", "2.34", "3.4.29", "1.3.13",
           "7.0.0", "1.2.9", _RHEL, ("rocky-9", "almalinux-9"), libnsl=False, kernel="5.14", isa="x86-64-v2",
           aarch64_pages=_WITH_64K),
    Distro("rhel-10", "Red Hat Enterprise Linux 10 / Rocky Linux 10 / AlmaLinux 10", "2.39", "3.4.33",
           "1.3.15", "14.0.0", "1.2.12", _RHEL, ("rocky-10", "almalinux-10"), libnsl=False, kernel="6.12",
           isa="x86-64-v3", aarch64_pages=_WITH_64K),
    Distro("ubuntu-18.04", "Ubuntu 18.04 LTS (bionic)", "2.27", "3.4.25", "1.3.11", "7.0.0", "1.2.9",
           _UBUNTU, ("bionic",), kernel="4.15"),
    Distro("ubuntu-20.04", "Ubuntu 20.04 LTS (focal)", "2.31", "3.4.28", "1.3.12", "7.0.0", "1.2.9",
           _UBUNTU, ("focal",), kernel="5.4"),
    Distro("ubuntu-22.04", "Ubuntu 22.04 LTS (jammy)", "2.35", "3.4.30", "1.3.13", "12.0.0", "1.2.9",
           (*_UBUNTU, "riscv64"), ("jammy",), kernel="5.15", aarch64_pages=_WITH_64K),
    Distro("ubuntu-24.04", "Ubuntu 24.04 LTS (noble)", "2.39", "3.4.33", "1.3.15", "14.0.0", "1.2.12",
           (*_UBUNTU, "riscv64"), ("noble",), kernel="6.8", aarch64_pages=_WITH_64K),
    Distro("amazonlinux-2", "Amazon Linux 2", "2.26", "3.4.24", "1.3.11", "7.0.0", "1.2.5.2",
           ("x86_64", "aarch64"), ("al2",), kernel="4.14"),
    Distro("amazonlinux-2023", "Amazon Linux 2023", "2.34", "3.4.29", "1.3.13", "7.0.0", "1.2.9",
           ("x86_64", "aarch64"), ("al2023",), libnsl=False, kernel="6.1"),
)  # fmt: skip
