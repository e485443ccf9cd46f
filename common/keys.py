"""Unknown config keys are errors that name the key and the closest known one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(key: str, known: Iterable[str]) -> str | None:
    """The known key most like `key` (difflib's ratio), None when there is no known key."""
    matches = difflib.get_close_matches(key, list(known), n=1, cutoff=0.0)
    return matches[0] if matches else None


def unknown_keys_message(unknown: Iterable[str], known: Iterable[str], where: str = "") -> str:
    """`unknown config key 'data.num_trian' (closest known key: 'data.num_train'); known in data: [...]`."""
    known = sorted(known)
    prefix = f"{where}." if where else ""
    parts = []
    for key in sorted(unknown):
        guess = closest(key, known)
        parts.append(f"'{prefix}{key}'" + (f" (closest known key: '{prefix}{guess}')" if guess else ""))
    return (f"unknown config key{'s' if len(parts) > 1 else ''} {', '.join(parts)}; "
            f"known{' in ' + where if where else ''}: {known}")


def check_keys(given: Iterable[str], known: Iterable[str], where: str = "") -> None:
    """Raise KeyError naming every key of `given` not in `known` and its closest known key."""
    known = set(known)
    unknown = sorted(set(given) - known)
    if unknown:
        raise KeyError(unknown_keys_message(unknown, known, where))
