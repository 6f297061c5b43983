"""Check, offline, that requirements/runtime.txt still locks what pyproject.toml asks for.

Every runtime dependency of pyproject.toml must be pinned in the lock at a version its
specifier accepts, and every pinned requirement must carry hashes (pip --require-hashes).
Fix a failure with `make lock`.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "runtime.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def problems() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    try:
        text = LOCK.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [f"{LOCK.relative_to(ROOT)} is missing"]
    pins: dict[str, Version] = {}
    unhashed: list[str] = []
    # A requirement is its pin line plus the continuation lines after it.
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = PIN.match(block)
        if match is None:
            continue
        name = canonicalize_name(match.group(1))
        pins[name] = Version(match.group(2))
        if "--hash=sha256:" not in block:
            unhashed.append(name)
    out = [f"{name} is pinned without a hash" for name in unhashed]
    for req in wanted:
        name = canonicalize_name(req.name)
        if name not in pins:
            out.append(f"{req.name} ({req}) is in pyproject.toml but not in the lock")
        elif not req.specifier.contains(pins[name], prereleases=True):
            out.append(f"{req.name} is locked at {pins[name]}, outside {req.specifier}")
    return out


def main() -> int:
    found = problems()
    for problem in found:
        print(f"requirements/runtime.txt: {problem}", file=sys.stderr)
    if found:
        print("the runtime lock is stale: run `make lock` and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
