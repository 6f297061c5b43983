"""Whether a signed form's kept verdict still holds at a moment: no certificate validity bound
(of its signers or the trusted CAs) lies between the time of its check and that moment.

Imports nothing: the replay of an unchanged validation asks it of every kept verdict without
loading the form checks (provisioner.documents.form).
"""

from __future__ import annotations

from collections.abc import Sequence

#: pyHanko allows a second of tolerance at a certificate's bounds; keep well clear of them.
BOUND_MARGIN = 2.0


def window_holds(bounds: Sequence[float], checked_at: float, now: float) -> bool:
    """No certificate validity bound lies between a check made at checked_at and now."""
    low, high = min(checked_at, now) - BOUND_MARGIN, max(checked_at, now) + BOUND_MARGIN
    return not any(low <= bound <= high for bound in bounds)
