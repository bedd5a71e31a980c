"""The one error type the command line turns into a clear message and exit code 2.

Every check on user input raises it before anything is written, so a bad ref, a full
host or a broken inventory never leaves a half-made project behind.
"""

from __future__ import annotations


class FleetError(Exception):
    """Bad input or an impossible request; the message says what is wrong and how to fix it."""
