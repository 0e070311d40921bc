"""The one error ``metrics/`` raises for input it cannot compute on.

A ``ValueError`` subclass, so numeric callers can treat it as one; the CLI and the pages show
its message (which names the fix) instead of a traceback.
"""

from __future__ import annotations


class StatisticsError(ValueError):
    """The data cannot give this figure as asked; the message says what to change."""
