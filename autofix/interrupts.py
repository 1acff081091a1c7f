"""Ctrl-C and SIGTERM as a request, honoured at safe points.

A ``KeyboardInterrupt`` raised wherever Python happens to be (inside a weakref callback,
a ``__del__``, TensorFlow's own clean-up) can be swallowed ("Exception ignored in ...") or
leave a half-written state. While :func:`deferred_interrupts` is active, the first signal
only sets a flag; training stops at its next batch and the search at its next step, so an
interrupted repair always ends the same way: it says so, keeps what it had proven, and
exits 130. A second signal raises ``KeyboardInterrupt`` at once, for a user who insists.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """Raised at a safe point after the user asked autofix to stop."""


class _State:
    def __init__(self):
        self.requested = False
        self.depth = 0
        self.previous: dict = {}

    def handle(self, signum, frame):  # noqa: ARG002 - the signal module's signature
        if self.requested:  # a second signal: stop now
            raise KeyboardInterrupt
        self.requested = True


_STATE = _State()


def requested() -> bool:
    """Whether the user asked to stop (a signal arrived while interrupts were deferred)."""
    return _STATE.requested


def check() -> None:
    """Raise :class:`Interrupted` at this safe point if the user asked to stop."""
    if _STATE.requested:
        raise Interrupted


def defer_for_this_process() -> None:
    """Defer signals from now until the process ends (the command line's entry point)."""
    if threading.current_thread() is threading.main_thread() and _STATE.depth == 0:
        _STATE.requested = False
        _STATE.previous = {s: signal.signal(s, _STATE.handle) for s in SIGNALS}
    _STATE.depth += 1


@contextmanager
def deferred_interrupts():
    """Within this block SIGINT/SIGTERM set :func:`requested` instead of raising.

    Re-entrant (the CLI and the API it calls may both open it); outside the main thread,
    where signal handlers cannot be installed, it changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _STATE.depth == 0:
        _STATE.requested = False
        _STATE.previous = {s: signal.signal(s, _STATE.handle) for s in SIGNALS}
    _STATE.depth += 1
    try:
        yield
    finally:
        _STATE.depth -= 1
        if _STATE.depth == 0:
            for s, handler in _STATE.previous.items():
                signal.signal(s, handler)
            _STATE.previous = {}


@contextmanager
def deferred_here():
    """Signals deferred within this block whatever handles them outside it: autofix's own
    work inside a user's script (``autofix run``), whose signals are Python's own. A signal
    sets :func:`requested`; the handlers from before come back after the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _STATE.requested = False
    previous = {s: signal.signal(s, _STATE.handle) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def python_signals():
    """Python's own signal handling within this block: a user's script run by ``autofix
    run`` gets ``KeyboardInterrupt`` on Ctrl-C where it is, and SIGTERM ends it, as under
    ``python script.py``."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
