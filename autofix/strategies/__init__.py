"""Repair strategies, one module each, collected in a registry.

Third-party strategies register through the ``autofix.strategies`` entry point group:
point it at a :class:`Strategy` subclass.
"""

from autofix.strategies.base import Strategy, register, registry, usable

__all__ = ["Strategy", "register", "registry", "usable"]
