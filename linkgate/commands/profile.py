"""`linkgate profile capture|list`: the command-line edge of target profiles (the CLI layer)."""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from typing import Any

from linkgate.core.exitcodes import ExitCode
from linkgate.policy.locate import presets_dir

ISA_CHOICES = ("x86-64-baseline", "x86-64-v2", "x86-64-v3", "x86-64-v4")


def add_parser(commands: Any) -> None:
    """The `profile` command and its subcommands, on the main parser's subparsers."""
    profile = commands.add_parser("profile", help="capture a target profile, or list the shipped ones")
    actions = profile.add_subparsers(dest="profile_command", required=True, metavar="ACTION")
    grab = actions.add_parser("capture", help="what this system's (or --root's) dynamic loader can find, as YAML")
    grab.add_argument(
        "--root",
        default="/",
        metavar="DIR|TAR",
        help="the system's root directory (default /), or a tar of it ('-': stdin)",
    )
    grab.add_argument("-o", "--output", metavar="FILE", help="write the profile to FILE (default stdout)")
    grab.add_argument("--name", help="profile name (default: ID-VERSION_ID from os-release)")
    grab.add_argument("--kernel", help="the server's `uname -r` (read from this system when --root is /)")
    grab.add_argument("--page-size", type=int, metavar="BYTES", help="the server's `getconf PAGESIZE`")
    grab.add_argument("--isa", choices=ISA_CHOICES, help="the highest x86-64 level the server's loader supports")
    grab.add_argument(
        "--machine", default=None, help="the server's `uname -m` for --page-size/--isa (default: this one's)"
    )
    actions.add_parser("list", help="the shipped profiles, usable as `target:` or `--policy`")


def run(args: argparse.Namespace) -> int:
    if args.profile_command == "list":
        return _list()
    return _capture(args.root, args.output, args.name, args)


def _capture(root: str, output: str | None, name: str | None, args: argparse.Namespace) -> int:
    if root != "-" and not os.path.exists(root):
        print(f"linkgate: no such directory or tar: {root}", file=sys.stderr)
        return ExitCode.CANNOT_EVALUATE
    if root == "-" or os.path.isfile(root):
        return _capture_tar(root, output, name, args)
    return _capture_dir(root, root, output, name, args)


def _capture_tar(root: str, output: str | None, name: str | None, args: argparse.Namespace) -> int:
    """A root streamed as a tar (the no-install one-liner of docs/targets.md)."""
    from linkgate.archives.limits import limits_from  # noqa: PLC0415 - lazy: start-up
    from linkgate.profiles.tarroot import TarRootError, unpacked_root  # noqa: PLC0415 - lazy: start-up

    try:
        limits = limits_from(os.environ)
        stream = open(root, "rb") if root != "-" else open(sys.stdin.fileno(), "rb", closefd=False)  # noqa: SIM115
        with stream, unpacked_root(stream, limits) as directory:
            return _capture_dir(directory, root, output, name, args)
    except (TarRootError, ValueError, OSError) as error:
        print(f"linkgate: {root}: {error}", file=sys.stderr)
        return ExitCode.CANNOT_EVALUATE


def _capture_dir(root: str, shown: str, output: str | None, name: str | None, args: argparse.Namespace) -> int:
    # Imported here: `check` parses this module's arguments on every run but never captures.
    from linkgate.profiles.capture import capture  # noqa: PLC0415 - lazy: start-up
    from linkgate.profiles.files import profile_yaml  # noqa: PLC0415 - lazy: start-up
    from linkgate.profiles.machine import machine_of  # noqa: PLC0415 - lazy: start-up

    if not os.path.isdir(root):
        print(f"linkgate: no such directory: {root}", file=sys.stderr)
        return ExitCode.CANNOT_EVALUATE
    machine = machine_of(args.kernel, args.page_size, args.isa, args.machine or os.uname().machine)
    profile = capture(root, name=name, today=datetime.date.today(), machine=machine)
    text = profile_yaml(profile)
    if output is None:
        sys.stdout.write(text)
    else:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    found = sum(len(table) for table in profile.libraries.values())
    print(f"linkgate: profile {profile.name}: {found} libraries, {len(profile.interpreters)} interpreters",
          file=sys.stderr)  # fmt: skip
    if not profile.interpreters and not found:
        print(f"linkgate: nothing a loader could use was found under {shown}", file=sys.stderr)
        return ExitCode.CANNOT_EVALUATE
    return ExitCode.OK


def _list() -> int:
    from linkgate.policy.targets import load_shipped  # noqa: PLC0415 - lazy: start-up

    for name, profile in load_shipped(presets_dir()).items():
        aliases = f" (also: {', '.join(profile.aliases)})" if profile.aliases else ""
        print(f"{name:18} {profile.description}{aliases}")
    return ExitCode.OK
