"""Set the learning rate by measuring it: a range test on the candidate as built so far."""

from __future__ import annotations

import inspect

from autofix._backend import keras
from autofix.diagnosis.findings import codes
from autofix.strategies.base import Strategy, register
from autofix.training.fit import encode_targets
from autofix.training.lr_finder import range_test


def default_learning_rate(optimizer: str) -> float:
    """The optimizer class's own default learning rate (Adam 0.001, SGD 0.01...)."""
    cls = getattr(keras.optimizers, optimizer, None)
    if cls is None:
        return 1e-3
    param = inspect.signature(cls.__init__).parameters.get("learning_rate")
    value = getattr(param, "default", 1e-3)
    return float(value) if isinstance(value, (int, float)) else 1e-3


def guessed_learning_rate(setup, found: set) -> float:
    """The fallback when the range test gives no curve: back towards the optimizer's
    default, ten times lower if the rate diverged."""
    lr, default = setup.learning_rate, default_learning_rate(setup.optimizer)
    if "learning_rate_too_low" in found and "learning_rate_too_high" not in found:
        return max(default, lr * 10)
    return min(default, lr / 10)


def measured_learning_rate(draft, problem) -> dict:
    """A range test over the draft's training model on the training rows (cached per
    recipe, so the folds of a small-data judgement share one measurement)."""
    key = ("range_test", draft.recipe, draft.setup.optimizer, draft.setup.loss,
           draft.setup.batch_size, draft.setup.clipnorm)
    if key not in problem.cache:
        model = draft.assemble(problem.input_shape, for_training=True)
        targets = encode_targets(problem.task, draft.setup, draft.training_targets(problem.y),
                                 draft.output_units)
        problem.cache[key] = range_test(model, draft.setup, problem.x, targets,
                                        seed=problem.seed).to_dict()
    return problem.cache[key]


@register
class AdjustLearningRate(Strategy):
    name = "adjust_learning_rate"
    summary = ("measure the learning rate with a range test (exponential sweep, fastai's valley "
               "pick) instead of guessing it")
    answers = frozenset({"learning_rate_too_high", "learning_rate_too_low"})
    order = 94
    example_scenario = "learning_rate_too_low"
    tuning = True

    def apply(self, draft, problem) -> None:
        test = measured_learning_rate(draft, problem)
        lr = test["suggestion"]
        if lr is None:
            lr = float(f"{guessed_learning_rate(draft.setup, codes(problem.findings)):.3g}")
            test = {**test, "fallback": "no usable range-test curve: a guess"}
        draft.setup = draft.setup.replace(learning_rate=float(lr))
        draft.params["learning_rate"] = draft.setup.learning_rate
        draft.params["range_test"] = test
