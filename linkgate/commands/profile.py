"""`linkgate profile capture|list`: the command-line edge of target profiles (the CLI layer)."""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from typing import Any

from linkgate.core.exitcodes import ExitCode
from linkgate.policy.locate import presets_dir


def add_parser(commands: Any) -> None:
    """The `profile` command and its subcommands, on the main parser's subparsers."""
    profile = commands.add_parser("profile", help="capture a target profile, or list the shipped ones")
    actions = profile.add_subparsers(dest="profile_command", required=True, metavar="ACTION")
    grab = actions.add_parser("capture", help="what this system's (or --root's) dynamic loader can find, as YAML")
    grab.add_argument("--root", default="/", metavar="DIR", help="the system's root directory (default /)")
    grab.add_argument("-o", "--output", metavar="FILE", help="write the profile to FILE (default stdout)")
    grab.add_argument("--name", help="profile name (default: ID-VERSION_ID from os-release)")
    actions.add_parser("list", help="the shipped profiles, usable as `target:` or `--policy`")


def run(args: argparse.Namespace) -> int:
    if args.profile_command == "list":
        return _list()
    return _capture(args.root, args.output, args.name)


def _capture(root: str, output: str | None, name: str | None) -> int:
    from linkgate.profiles.capture import capture  # noqa: PLC0415 - lazy: start-up
    from linkgate.profiles.files import profile_yaml  # noqa: PLC0415 - lazy: start-up

    if not os.path.isdir(root):
        print(f"linkgate: no such directory: {root}", file=sys.stderr)
        return ExitCode.CANNOT_EVALUATE
    profile = capture(root, name=name, today=datetime.date.today())
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
        print(f"linkgate: nothing a loader could use was found under {root}", file=sys.stderr)
        return ExitCode.CANNOT_EVALUATE
    return ExitCode.OK


def _list() -> int:
    from linkgate.policy.targets import load_shipped  # noqa: PLC0415 - lazy: start-up

    for name, profile in load_shipped(presets_dir()).items():
        aliases = f" (also: {', '.join(profile.aliases)})" if profile.aliases else ""
        print(f"{name:18} {profile.description}{aliases}")
    return ExitCode.OK
