"""Exceptions of the engine. Bad commands are events, never exceptions."""

from __future__ import annotations


class MatchingError(Exception):
    """Base class of every exception raised by the matching package."""


class InvariantViolation(MatchingError, AssertionError):
    """The book's internal state broke one of its invariants (a bug, never bad input)."""


class SnapshotError(MatchingError, ValueError):
    """A snapshot handed to ``restore`` is malformed or inconsistent."""
