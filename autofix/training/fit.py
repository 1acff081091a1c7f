"""Candidate training: the fastest path that trains the model as Keras would, with early
rejection of candidates that are already hopeless.

Per-step Python overhead dominates small Keras models on CPU. Three paths train the same
model with the same batch size, epochs and learning rate: a compiled program that runs
every step of many epochs in one call (:mod:`autofix.training.compiled`, the default), a
Keras ``fit`` on a cached ``tf.data`` pipeline with several steps per execution (used when
a Keras callback must watch the run, or when the program cannot be built), and a plain
Keras ``fit`` on arrays (the speed-ups off, for the benchmark's comparison).
"""

from __future__ import annotations

import dataclasses
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from autofix import interrupts
from autofix._backend import keras, tf
from autofix.errors import error_text
from autofix.inputs.task import Task, class_ids, class_ids_of_classes
from autofix.training import compiled as compiled_training
from autofix.training.train_log import StuckCheck, TrainLog, update_ratio
from autofix.training.training_setup import PROBABILISTIC_LOSSES, TrainingSetup

MAX_STEPS_PER_EXECUTION = 32


@dataclass
class Settings:
    """Switches for the speed-ups, so that the benchmark can measure each one's effect.

    ``compiled``: one compiled program per run (off: Keras' ``fit``). ``lean``: Keras' fit on
    a cached ``tf.data`` pipeline with several steps per execution (off: a plain
    ``model.fit`` on arrays). ``reject_stuck``: stop a candidate whose predictions are
    constant and whose loss is flat (off: train every candidate to its last epoch).
    """

    compiled: bool = True
    lean: bool = True
    reject_stuck: bool = True


SETTINGS = Settings()


@contextmanager
def switched(**changes):
    """The speed-up switches of :data:`SETTINGS` changed for a ``with`` block, and restored
    after it (how the benchmark measures each one)."""
    saved = dataclasses.asdict(SETTINGS)
    unknown = set(changes) - set(saved)
    if unknown:
        raise ValueError(f"no speed-up switch {', '.join(sorted(unknown))}")
    try:
        for name, value in changes.items():
            setattr(SETTINGS, name, value)
        yield SETTINGS
    finally:
        for name, value in saved.items():
            setattr(SETTINGS, name, value)


def encode_targets(task: Task, setup: TrainingSetup, y: np.ndarray, units: int) -> np.ndarray:
    """``y`` in the form the loss expects (ids, one-hot, a 0/1 column, or values).

    Class ids keep the user's values (:func:`~autofix.inputs.task.class_ids`): unit k of the head
    is class id k. A one-unit head on two classes learns the probability of the larger.
    """
    y = np.asarray(y)
    loss = setup.loss
    if task.kind == "regression" or loss not in PROBABILISTIC_LOSSES:
        out = y.reshape(len(y), -1) if units > 1 or y.ndim == 2 else y
        return out.astype("float32")
    if task.kind == "multilabel" or task.label_format == "onehot" and units == task.n_classes:
        if loss == "sparse_categorical_crossentropy":
            return class_ids(task, y).astype("int32")
        return y.reshape(len(y), -1).astype("float32")
    ids = class_ids(task, y)
    if loss == "sparse_categorical_crossentropy":
        return ids.astype("int32")
    if loss in ("categorical_crossentropy", "categorical_focal_crossentropy", "kl_divergence"):
        return np.eye(max(units, task.width), dtype="float32")[ids][:, :units]
    if units == 1 and task.n_classes <= 2:  # a sigmoid: is it the larger class?
        top = int(class_ids_of_classes(task).max()) if task.n_classes == 2 else 1
        return (ids == top).reshape(-1, 1).astype("float32")
    return ids.reshape(-1, 1).astype("float32")


class Watch(keras.callbacks.Callback):
    """Stop on NaN loss, on a candidate stuck at constant predictions, or on time."""

    def __init__(self, log: TrainLog, probe_x, probe_y, loss_fn, deadline,
                 steps: int, reject_stuck: bool, stop_when_conclusive: bool = False):
        super().__init__()
        self.stop_when_conclusive = stop_when_conclusive
        self.log, self.probe_x, self.deadline = log, probe_x, deadline
        self.probe_y, self.loss_fn = probe_y, loss_fn
        self.steps = max(steps, 1)
        self._kernels0 = None
        self._stuck = StuckCheck(log.epochs_planned, reject_stuck)

    def _kernels(self):
        return [v.numpy().copy() for v in self.model.trainable_weights if len(v.shape) >= 2]

    def on_train_begin(self, logs=None):
        self._kernels0 = self._kernels()
        try:
            pred = self.model(self.probe_x, training=False)
            self.log.initial_loss = float(self.loss_fn(self.probe_y, pred))
        except Exception:  # noqa: BLE001 - evidence only
            self.log.initial_loss = None

    def on_train_batch_end(self, batch, logs=None):
        if interrupts.requested():  # Ctrl-C: stop at this batch; fit() raises after
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if interrupts.requested():
            self.model.stop_training = True
            return
        loss = float((logs or {}).get("loss", float("nan")))
        self.log.losses.append(loss)
        self.log.epoch_seconds.append(time.monotonic() - self._epoch_started)
        if epoch == 0 and self._kernels0:
            self.log.update_ratio = update_ratio(self._kernels0, self._kernels(), self.steps)
            self._kernels0 = None
        if not math.isfinite(loss):
            self.log.stop("nonfinite", epoch + 1, loss)
        elif self.stop_when_conclusive and self.log.conclusive:
            self.log.stop("conclusive", epoch + 1)
        elif self._past(self.deadline(self.log) if callable(self.deadline) else self.deadline):
            self.log.stop("time", epoch + 1)
        elif self._stuck.due(epoch + 1) and self._stuck.stuck(
                np.asarray(self.model(self.probe_x, training=False), dtype="float64"),
                loss, epoch + 1):
            self.log.stop("stuck", epoch + 1, loss)
        else:
            return
        self.model.stop_training = True

    @staticmethod
    def _past(limit) -> bool:
        return limit is not None and time.monotonic() > limit


def dataset(x, y, sample_weight, batch_size: int, seed: int, *, passes: int = 1):
    """A cached, shuffled, batched pipeline; ``passes`` reshuffled passes make one epoch."""
    parts = (x, y) if sample_weight is None else (x, y, sample_weight.astype("float32"))
    ds = tf.data.Dataset.from_tensor_slices(parts).cache()
    ds = ds.shuffle(min(len(x), 10_000), seed=seed, reshuffle_each_iteration=True)
    if passes > 1:
        ds = ds.repeat(passes)
    return ds.batch(batch_size).prefetch(2)


def compile_for_training(model, setup: TrainingSetup, steps_per_epoch: int):
    per_execution = max(1, min(MAX_STEPS_PER_EXECUTION, steps_per_epoch)) if SETTINGS.lean else 1
    model.compile(optimizer=setup.make_optimizer(), loss=setup.make_loss(),
                  steps_per_execution=per_execution)


class HeldOutStopping(keras.callbacks.Callback):
    """Keras' EarlyStopping on rows held out of training, at a fraction of its cost: the
    held-out loss is one direct forward pass per epoch, not an evaluation loop. Without
    held-out rows it watches the training loss. The best epoch's weights are kept."""

    def __init__(self, patience: int, held=None, loss_fn=None):
        super().__init__()
        self.patience, self.held, self.loss_fn = patience, held, loss_fn
        self.best, self.best_epoch, self.best_weights = math.inf, None, None
        self.wait, self.stopped_epoch = 0, 0

    def _held_out_loss(self) -> float:
        x, y = self.held
        return float(self.loss_fn(y, self.model(x, training=False)))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if self.held is not None:
            logs["val_loss"] = current = self._held_out_loss()
        else:
            current = float(logs.get("loss", math.nan))
        if not math.isfinite(current):
            return
        if current < self.best:
            self.best, self.best_epoch, self.wait = current, epoch, 0
            self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def early_stopping(epochs: int, setup: TrainingSetup, held=None):
    """Stop once the held-out loss (or, with no rows held out, the training loss) has not
    improved for a while; keep the weights of the best epoch."""
    if held is not None:
        held = (tf.constant(held[0]), tf.constant(held[1]))
    return HeldOutStopping(patience(epochs), held, setup.make_loss())


#: a candidate whose epoch is shorter than this many steps trains several passes over the
#: data per Keras epoch: the same steps, a fraction of Keras' per-epoch overhead
MIN_STEPS_PER_EPOCH = 16


def patience(epochs: int) -> int:
    """Epochs without a better held-out loss after which early stopping ends a run."""
    return max(10, int(epochs) // 30)


def passes_per_epoch(rows: int, batch_size: int) -> int:
    """Passes over the rows that make one Keras epoch of at least
    :data:`MIN_STEPS_PER_EPOCH` steps (Keras' per-epoch overhead paid less often)."""
    steps = math.ceil(rows / max(1, batch_size))
    return math.ceil(MIN_STEPS_PER_EPOCH / steps) if steps < MIN_STEPS_PER_EPOCH else 1


def passes_patience(setup: TrainingSetup, rows: int) -> int:
    """Early stopping's patience in passes over the rows: the same on every training path
    (Keras' counts epochs of :func:`passes_per_epoch` passes)."""
    passes = passes_per_epoch(rows, setup.batch_size)
    return patience(math.ceil(int(setup.epochs) / passes)) * passes


def fit(model, setup: TrainingSetup, x: np.ndarray, y_encoded: np.ndarray, *, seed: int = 0,
        sample_weight: np.ndarray | None = None, deadline=None,
        reject_stuck: bool = True, extra_callbacks=(), diagnostic: bool = False,
        validation: tuple | None = None, on_epoch=None) -> TrainLog:
    """Train ``model`` for ``setup``; never raises for a failed run.

    ``diagnostic``: the run is evidence, not a candidate: it may stop as soon as its
    weight updates settle the learning-rate question. ``validation``: (x, y_encoded) rows
    held out of training that decide, under ``setup.early_stopping``, when it stops.
    ``deadline``: a time (``time.monotonic()``) after which no further epoch starts, or a
    function of the run's :class:`TrainLog` so far that returns one (a deadline that moves
    as the run's own epochs are timed). ``on_epoch(epoch, planned, loss)`` hears of each
    epoch. ``extra_callbacks`` (Keras callbacks) need Keras' fit: they turn the compiled
    program off for this run."""
    early = {"reject_stuck": reject_stuck and SETTINGS.reject_stuck,
             "diagnostic": diagnostic and SETTINGS.reject_stuck}
    log = None
    if SETTINGS.compiled and not extra_callbacks:
        log = _fit_compiled(model, setup, x, y_encoded, seed=seed, sample_weight=sample_weight,
                            deadline=deadline, validation=validation, on_epoch=on_epoch, **early)
    if log is None:
        log = _fit_keras(model, setup, x, y_encoded, seed=seed, sample_weight=sample_weight,
                         deadline=deadline, validation=validation, on_epoch=on_epoch,
                         extra_callbacks=extra_callbacks, **early)
    interrupts.check()  # a run the user stopped is not evidence of anything
    if log.stopped == "completed" and not _weights_finite(model):
        log.stopped, log.detail = "nonfinite", "weights became NaN or inf"
    return log


def _fit_compiled(model, setup, x, y_encoded, *, validation, **kwargs) -> TrainLog | None:
    """The compiled program's run, or None when the program cannot train this model (its
    failure is then left to Keras' fit, whose error message is the one to report)."""
    try:
        program = compiled_training.program_for(model, setup, x, y_encoded)
        log = compiled_training.fit(program, model, setup, x, y_encoded, validation=validation,
                                    patience=passes_patience(setup, len(x)) if setup.early_stopping else 0,
                                    **kwargs)
    except Exception:  # noqa: BLE001 - Keras' own fit says what is wrong
        return None
    return log


def _fit_keras(model, setup: TrainingSetup, x: np.ndarray, y_encoded: np.ndarray, *, seed: int,
               sample_weight, deadline, reject_stuck: bool, extra_callbacks, diagnostic: bool,
               validation, on_epoch=None) -> TrainLog:
    """Keras' fit: on a cached pipeline (``SETTINGS.lean``) or on arrays."""
    start = time.monotonic()
    steps = math.ceil(len(x) / max(1, setup.batch_size))
    passes = 1
    if setup.early_stopping and SETTINGS.lean:
        passes = passes_per_epoch(len(x), setup.batch_size)
    epochs = math.ceil(int(setup.epochs) / passes)
    log = TrainLog(epochs_planned=epochs, passes_per_epoch=passes,
                   engine="lean" if SETTINGS.lean else "keras")
    steps *= passes
    probe_x, probe_y = x[:256], y_encoded[:256]
    stopper = None
    try:
        # Keras shuffles with TensorFlow's global seed (autofix's set_seed leaves it alone)
        tf.random.set_seed(seed)
        compile_for_training(model, setup, steps)
        watch = Watch(log, probe_x, probe_y, setup.make_loss(), deadline, steps,
                              reject_stuck, stop_when_conclusive=diagnostic)
        callbacks = [watch, *extra_callbacks]
        if on_epoch is not None:
            callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: on_epoch(
                (epoch + 1) * passes, int(setup.epochs), (logs or {}).get("loss"))))
        if setup.early_stopping:
            stopper = early_stopping(epochs, setup, validation)
            callbacks.append(stopper)
        if SETTINGS.lean:
            ds = dataset(x, y_encoded, sample_weight, setup.batch_size, seed, passes=passes)
            model.fit(ds, epochs=epochs, verbose=0, callbacks=callbacks)
        else:
            model.fit(x, y_encoded, sample_weight=sample_weight, batch_size=setup.batch_size,
                      epochs=epochs, verbose=0, callbacks=callbacks)
        if stopper is not None and log.stopped == "completed":
            log.best_epoch = None if stopper.best_epoch is None else (stopper.best_epoch + 1) * passes
            if stopper.stopped_epoch > 0:
                log.stop("levelled", log.epochs_run)
    except Exception as err:  # noqa: BLE001 - a failed candidate is recorded, not raised
        log.stopped = "error"
        log.detail = error_text(err)
    log.seconds = time.monotonic() - start
    return log


def _weights_finite(model) -> bool:
    return all(np.all(np.isfinite(w)) for w in model.get_weights())


def predict(model, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Predictions without Keras' progress machinery (a direct call per chunk)."""
    outs = [np.asarray(model(x[i:i + batch_size], training=False))
            for i in range(0, len(x), batch_size)]
    return np.concatenate(outs, axis=0) if outs else np.empty((0,))
