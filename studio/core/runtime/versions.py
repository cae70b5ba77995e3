"""Version numbers and ranges of the runtime pack (a small npm-semver subset, no dependencies)."""

from __future__ import annotations

import re

Version = tuple[int, int, int]

_VER_RE = re.compile(r"v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?(?:[-+][\w.-]*)?")


def parse_version(text: str) -> Version | None:
    """``"0.128.0"`` -> (0, 128, 0); None when it is not a version."""
    m = _VER_RE.fullmatch(text.strip())
    if m is None or not all(p is None or p.isdigit() for p in m.groups()):
        return None
    return (int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0))


def version_range(spec: str) -> tuple[Version, Version] | None:
    """The half-open range ``[lo, hi)`` a requested version means; None for "any" or unparsable.

    Exact ``1.2.3`` is ``[1.2.3, 1.2.4)``; ``1.2``/``1.2.x`` is 1.2.*; ``1`` is 1.*; ``^``/``~`` follow
    npm; three.js ``r128`` is 0.128.0.
    """
    spec = spec.strip()
    if m := re.fullmatch(r"r(\d+)", spec):
        v = (0, int(m.group(1)), 0)
        return v, (0, v[1], 1)
    op = spec[0] if spec[:1] in ("^", "~") else ""
    body = spec[1:] if op else spec
    m = _VER_RE.fullmatch(body)
    if m is None:
        return None
    nums: list[int] = []
    for g in m.groups():
        if g is None or not g.isdigit():
            break
        nums.append(int(g))
    lo = ([*nums, 0, 0])[:3]
    if op == "^":
        idx = next((i for i, n in enumerate(lo) if n), 2)
    elif op == "~":
        idx = 1 if len(nums) > 1 else 0
    else:
        idx = len(nums) - 1
    hi = lo[: idx + 1]
    hi[idx] += 1
    return (lo[0], lo[1], lo[2]), tuple(([*hi, 0, 0])[:3])  # type: ignore[return-value]


def version_in(v: Version, rng: str) -> bool:
    """Whether ``v`` satisfies a range like ``">=0.150.0 <0.161.0"``."""
    for cond in rng.split():
        m = re.fullmatch(r"(>=|<=|>|<|=)?(.+)", cond)
        bound = parse_version(m.group(2)) if m else None
        if m is None or bound is None:
            return False
        op = m.group(1) or "="
        ok = {">=": v >= bound, "<=": v <= bound, ">": v > bound, "<": v < bound, "=": v == bound}[op]
        if not ok:
            return False
    return True
