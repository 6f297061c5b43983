"""Hostile YAML is refused quickly: the timings the tests used to assert, measured here.

Targets (2 cores, in-process, best of 3): a file over the size limit, a billion-laughs alias
bomb and brackets nested 100,000 deep are each refused in <= 1.0 s.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from benchlib import report

from provisioner.loading.strict_yaml import MAX_BYTES, load_bytes


def best(action: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    too_large = b"a: " + b"x" * MAX_BYTES + b"\n"
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    laughs = "\n".join(lines).encode()
    deep = b"a: " + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    rows = [
        ("YAML over the size limit refused", best(lambda: load_bytes(too_large, "f.yaml")), 1.0),
        ("billion-laughs YAML refused", best(lambda: load_bytes(laughs, "f.yaml")), 1.0),
        ("brackets nested 100,000 deep refused", best(lambda: load_bytes(deep, "f.yaml")), 1.0),
    ]
    return 0 if report(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
