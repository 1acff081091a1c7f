"""The strategy plug-in surface: a small base class and a registry.

A strategy answers some finding codes and changes a :class:`~autofix.search.candidate.Draft`
(the model, its compile setup, its training targets). It never touches the user's model:
a draft is always built from a fresh clone.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from autofix.diagnosis.findings import Finding
from autofix.errors import InputError

_REGISTRY: dict[str, "Strategy"] = {}
_ENTRY_POINTS_LOADED = False


class Strategy:
    """Base class of every repair strategy.

    Subclasses set ``name``, ``summary`` (one line for ``autofix strategies``),
    ``answers`` (the finding codes it repairs) and ``order`` (its place when several
    strategies combine: surgery on the model first, training changes last), and
    implement :meth:`apply`. :meth:`applies` may narrow when the strategy is proposed.
    """

    name: str = ""
    summary: str = ""
    answers: frozenset = frozenset()
    order: int = 50
    #: a training-only change (learning rate, epochs...) rather than a model change
    tuning: bool = False
    #: meaningful only on its own: dropped from a candidate that other strategies fill
    standalone: bool = False
    #: the scenario (in :mod:`autofix.bench.scenarios`) this strategy repairs: the shared
    #: conformance test checks that it fires there and stays quiet on healthy models
    example_scenario: str | None = None

    def applies(self, problem, findings: list[Finding]) -> bool:
        """Whether the findings call for this strategy (default: an answered code fired)."""
        return any(f.code in self.answers and f.severity in ("error", "warning") for f in findings)

    def apply(self, draft, problem) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<strategy {self.name}>"


def register(cls):
    """Class decorator: add an instance of ``cls`` to the registry under ``cls.name``."""
    instance = cls()
    if not instance.name:
        raise ValueError(f"{cls.__name__} has no name")
    _REGISTRY[instance.name] = instance
    return cls


def _load_entry_points() -> None:
    """Register every strategy of the ``autofix.strategies`` entry-point group: the built-ins
    (declared in autofix's own pyproject.toml) and plug-ins'. A source tree that was never
    installed has no entry points: its built-ins are imported from :mod:`.builtin`."""
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    declared = list(entry_points(group="autofix.strategies"))
    if not any(ep.value.startswith("autofix.strategies.") for ep in declared):
        from autofix.strategies import builtin  # noqa: F401 - registers the built-in strategies
    for ep in declared:
        obj = ep.load()
        if isinstance(obj, type):
            if obj.name not in _REGISTRY:
                register(obj)
        elif isinstance(obj, Strategy):
            _REGISTRY.setdefault(obj.name, obj)


def registry() -> dict[str, Strategy]:
    """Every registered strategy by name: the built-ins and those of installed plug-ins."""
    _load_entry_points()
    return dict(sorted(_REGISTRY.items(), key=lambda item: (item[1].order, item[0])))


def usable(names=None) -> dict[str, Strategy]:
    """The registered strategies ``names`` allows (a list, or one comma-separated string;
    None: all of them), by name; one :class:`~autofix.errors.InputError` line for a name
    that is not registered."""
    available = registry()
    if names is None:
        return available
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    unknown = [n for n in names if n.strip() not in available]
    if unknown:
        raise InputError(f"unknown strategy {', '.join(unknown)}; known: {', '.join(available)}")
    return {n.strip(): available[n.strip()] for n in names}
