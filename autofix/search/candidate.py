"""Candidates: a recipe (strategies + parameters) and the fresh model it builds.

A candidate is built from scratch every time: a fresh clone of the user's model (new
weights from its initializers), then each strategy's change in order. Nothing trained
leaks from one candidate into another, and the user's model is never touched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from autofix._backend import keras, set_seed
from autofix.errors import brief
from autofix.inputs.problem import Problem
from autofix.inputs.task import Task, divided_task
from autofix.model.anatomy import output_units
from autofix.model.surgery import clone_keeping_frozen
from autofix.training.training_setup import TrainingSetup


@dataclass
class Draft:
    """A candidate under construction; strategies change it in place.

    ``core`` is a fresh clone of the user's model. ``preprocess`` layers run on the raw
    input before it (e.g. a Normalization), ``postprocess`` layers after it (e.g. the
    Rescaling that undoes target scaling), so the assembled model stays a drop-in
    replacement. ``target_shift``/``target_scale`` transform ``y`` for training only.
    ``label_divisor`` recodes class labels that are ids scaled by a constant (0, 10, ...,
    90 -> 0..9): the candidate is trained and judged on the recoded ids
    (:meth:`labels`, :meth:`task_for`), and its unit k is the class labelled k * divisor.
    """

    core: object
    setup: TrainingSetup
    preprocess: list = field(default_factory=list)
    postprocess: list = field(default_factory=list)
    target_shift: np.ndarray | None = None
    target_scale: np.ndarray | None = None
    label_divisor: float | None = None
    params: dict = field(default_factory=dict)
    callbacks: list = field(default_factory=list)
    recipe: object = None  # the candidate's strategies applied before the current one

    @classmethod
    def fresh(cls, problem: Problem) -> "Draft":
        return cls(core=clone_keeping_frozen(problem.model), setup=problem.candidate_setup)

    @property
    def output_units(self) -> int:
        return output_units(self.core)

    def task_for(self, task: Task) -> Task:
        """The task of the labels this candidate is trained and judged on."""
        return task if self.label_divisor is None else divided_task(task, self.label_divisor)

    def labels(self, y: np.ndarray) -> np.ndarray:
        """``y`` as this candidate is trained and judged on it (recoded class ids)."""
        if self.label_divisor is None:
            return y
        return np.rint(np.asarray(y, dtype="float64") / self.label_divisor).astype("float32")

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        if self.label_divisor is not None:
            return self.labels(y)
        if self.target_scale is None:
            return y
        shape = y.shape
        y2 = y.reshape(len(y), -1)
        return ((y2 - self.target_shift) / self.target_scale).reshape(shape)

    def assemble(self, input_shape: tuple, *, for_training: bool = False):
        """The model to deploy (raw x in, y's units out), or, ``for_training``, the same
        layers without the postprocessing: it is trained on :meth:`training_targets`."""
        post = [] if for_training else self.postprocess
        if not self.preprocess and not post:
            return self.core
        inputs = keras.Input(shape=input_shape, name="raw_input")
        h = inputs
        for layer in self.preprocess:
            h = layer(h)
        h = self.core(h)
        for layer in post:
            h = layer(h)
        return keras.Model(inputs, h, name=f"{self.core.name}_fixed")


class StrategyFailed(Exception):
    """A strategy raised while building a candidate."""

    def __init__(self, name: str, error: Exception):
        self.name, self.error = name, error
        super().__init__(f"strategy {name} failed: {type(error).__name__}: "
                         f"{brief(error, 250)}")


@dataclass(frozen=True)
class Candidate:
    """A repair to try: strategy names in order, plus parameter overrides."""

    strategies: tuple = ()
    params: tuple = ()  # sorted (name, value) pairs, hashable

    @classmethod
    def of(cls, strategies, params=None) -> "Candidate":
        return cls(tuple(strategies), tuple(sorted((params or {}).items())))

    @property
    def param_dict(self) -> dict:
        return dict(self.params)

    def plus(self, *names, **params) -> "Candidate":
        merged = [s for s in self.strategies]
        for name in names:
            if name not in merged:
                merged.append(name)
        return Candidate.of(merged, {**self.param_dict, **params})

    def without(self, name: str) -> "Candidate":
        return Candidate(tuple(s for s in self.strategies if s != name), self.params)

    def label(self) -> str:
        return " + ".join(self.strategies) or "original setup"


def build(candidate: Candidate, problem: Problem, registry) -> Draft:
    """A fresh :class:`Draft` with every strategy of ``candidate`` applied in order."""
    set_seed(problem.seed)
    draft = Draft.fresh(problem)
    for i, name in enumerate(candidate.strategies):
        draft.recipe = Candidate.of(candidate.strategies[:i])
        try:
            registry[name].apply(draft, problem)
        except Exception as err:
            raise StrategyFailed(name, err) from err
    overrides = candidate.param_dict
    setup_fields = {f.name for f in dataclasses.fields(TrainingSetup)}
    changes = {k: v for k, v in overrides.items() if k in setup_fields}
    if changes:
        draft.setup = draft.setup.replace(**changes)
    draft.params.update(overrides)
    return draft
