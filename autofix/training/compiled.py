"""Candidate training as one compiled program: every step of many epochs in one call.

For the small models people bring, Keras' per-step and per-epoch Python work, not the
arithmetic, is what a candidate costs. Here one ``tf.function`` runs the whole loop inside
TensorFlow: the per-epoch shuffle (stateless, from the seed and the epoch), the steps
(``GradientTape`` and the optimizer's own ``apply``), the NaN check, and early stopping on
held-out rows with the best weights kept. Python only steps in between *chunks* of epochs
(each about :data:`CHUNK_SECONDS`): for the time limit, Ctrl-C, a stuck candidate and the
progress display.

One trace serves every candidate of an architecture. A :class:`Program` owns a clone of
the first model it saw and an optimizer; each run copies the candidate's weights in,
resets the optimizer, feeds the learning rate, seed and epochs as tensors, and copies the
trained weights back out. The learning-rate range test is the same program with one rate
per step. :func:`program_for` keeps the last few programs by architecture key, so the
keras-tuner trials, the range test and the candidate of one architecture trace once.

XLA compiles each step (forward, gradient and update; the loop around it stays TensorFlow's:
XLA cannot compile a loop whose last batch is shorter) for models with a recurrent layer
only: :func:`wants_xla`, from ``python -m benchmarks.xla_choice``. The choice depends on the
model alone, never on a timing, so that a seed gives the same weights on every run.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import OrderedDict

import numpy as np

from autofix import interrupts
from autofix._backend import keras, tf
from autofix.model.surgery import clone_model
from autofix.training.train_log import StuckCheck, TrainLog, update_ratio

#: Python looks in (time limit, Ctrl-C, a stuck candidate) about this often
CHUNK_SECONDS = 0.5
#: programs kept, most recently used first (each holds a model clone and a trace)
CACHE_SIZE = 8
#: stop codes the program returns
RAN, NONFINITE, LEVELLED, STEP_LIMIT = 0, 1, 2, 3

_PROGRAMS: OrderedDict = OrderedDict()


def all_layers(model) -> list:
    out = []
    for layer in getattr(model, "layers", []):
        out.append(layer)
        out.extend(all_layers(layer))
    return out


def architecture_key(model, setup, x: np.ndarray, y: np.ndarray) -> str:
    """What one trace depends on: the model's configuration with its layer names replaced
    by their positions (two clones differ only in names), the optimizer without its
    learning rate, the loss, and the shapes and types of the data. Raises when the model
    has no configuration (a subclassed model): such a model is not compiled."""
    text = json.dumps(model.get_config(), sort_keys=True, default=repr)
    names = [model.name] + [layer.name for layer in all_layers(model)]
    index = {name: i for i, name in reversed(list(enumerate(names)))}
    pattern = "|".join(re.escape(n) for n in sorted(index, key=len, reverse=True))
    text = re.sub(f'"({pattern})"', lambda m: f'"#{index[m.group(1)]}"', text)
    text = re.sub(r'"name": "[^"]*"', '"name": ""', text)  # e.g. a Sequential's input layer
    optimizer = {k: v for k, v in setup.optimizer_config.items() if k != "learning_rate"}
    # a user's own loss is known by its name only: two functions may share one
    loss = [setup.loss, id(setup.custom_loss) if setup.uses_custom_loss else None]
    return json.dumps([type(model).__name__, text, setup.optimizer, optimizer, setup.clipnorm,
                       loss, setup.from_logits, x.shape[1:], str(x.dtype), y.shape[1:],
                       str(y.dtype)], default=repr)


def wants_xla(model) -> bool:
    """Whether XLA-compiled steps train ``model`` faster: when it has a recurrent layer.

    Measured here (2 CPU cores, 1000 rows, batch 32, 5 epochs; ``benchmarks/xla_choice.py``),
    a run with XLA against one without, once compiled: LSTM, GRU and SimpleRNN models
    2.2-4.6x as fast (with dropout too, and under a Conv1D); MLPs of 2x32 to 2x128 units 0.6-0.7x,
    2x256 1.5x but 0.27x with a Dropout layer, 8x64 sigmoid 1.0x; small Conv1D/Conv2D models
    0.85-1.3x. Compiling costs 1-2.5 s more, paid once per program."""
    recurrent = (keras.layers.RNN, keras.layers.Bidirectional)
    return any(isinstance(layer, recurrent) for layer in all_layers(model))


def program_for(model, setup, x: np.ndarray, y: np.ndarray) -> "Program":
    """The compiled program for ``model``'s architecture and ``setup`` (one from the cache
    when an equal architecture was trained before)."""
    key = architecture_key(model, setup, x, y)
    program = _PROGRAMS.get(key)
    if program is None or not program.fits(model):
        program = Program(model, setup, x, y)
        _PROGRAMS[key] = program
        while len(_PROGRAMS) > CACHE_SIZE:
            _PROGRAMS.popitem(last=False)
    _PROGRAMS.move_to_end(key)
    return program


def clear_cache() -> None:
    _PROGRAMS.clear()


class Program:
    """One traced training loop for one architecture, optimizer and loss."""

    def __init__(self, model, setup, x: np.ndarray, y: np.ndarray):
        self.model = clone_model(model)
        if not self.fits(model):
            raise ValueError("the clone's variables differ from the model's")
        # an adapted Normalization keeps its mean and variance as tensors made from its
        # variables (``finalize_state``): made inside the program they follow the variables
        # of each run; other layers with state outside variables (lookup tables) are left
        # to Keras' fit
        stateful = [layer for layer in all_layers(self.model) if hasattr(layer, "finalize_state")]
        self._adapted = [layer for layer in stateful if isinstance(layer, keras.layers.Normalization)]
        if len(self._adapted) < len(stateful):
            raise ValueError("a layer keeps state outside its variables")
        self.optimizer = setup.make_optimizer()
        self.optimizer.build(self.model.trainable_variables)
        self.loss_fn = setup.make_loss()
        self._optimizer_start = [v.numpy() for v in self.optimizer.variables]
        self._best = [tf.Variable(v, trainable=False) for v in self.model.variables]
        self._best_loss = tf.Variable(math.inf, dtype="float32", trainable=False)
        self._best_epoch = tf.Variable(-1, dtype="int32", trainable=False)
        self._wait = tf.Variable(0, dtype="int32", trainable=False)
        self._step = tf.Variable(0, dtype="int32", trainable=False)
        x_spec = tf.TensorSpec((None, *x.shape[1:]), x.dtype)
        y_spec = tf.TensorSpec((None, *y.shape[1:]), y.dtype)
        scalar = tf.TensorSpec((), "int32")
        self._signature = [x_spec, y_spec, tf.TensorSpec((None,), "float32"), x_spec, y_spec,
                           scalar, scalar, scalar, scalar, tf.TensorSpec((None,), "float32"),
                           scalar, scalar]
        self._loops = {False: tf.function(self._train, autograph=False,
                                         input_signature=self._signature)}
        #: whether the steps are compiled by XLA (off again if XLA cannot compile them)
        self.xla = wants_xla(self.model)

    def _loop_for(self, xla: bool):
        if xla not in self._loops:
            self._loops[xla] = tf.function(lambda *args: self._train(*args, xla=True),
                                             autograph=False, input_signature=self._signature)
        return self._loops[xla]

    def fits(self, model) -> bool:
        """Whether ``model``'s variables line up with this program's (same shapes, order)."""
        mine, theirs = self.model.variables, model.variables
        return len(mine) == len(theirs) and all(
            tuple(a.shape) == tuple(b.shape) for a, b in zip(mine, theirs))

    # -- state in and out ----------------------------------------------------------------
    def load(self, model) -> None:
        """Start from ``model``'s weights (and its dropout seeds), a fresh optimizer and no
        best epoch."""
        for mine, theirs in zip(self.model.variables, model.variables):
            mine.assign(theirs.value)
        for variable, start in zip(self.optimizer.variables, self._optimizer_start):
            variable.assign(start)
        self._best_loss.assign(math.inf)
        self._best_epoch.assign(-1)
        self._wait.assign(0)
        self._step.assign(0)
        self._finalize()

    def _finalize(self) -> None:
        for layer in self._adapted:
            layer.finalize_state()

    def store(self, model) -> None:
        """Copy the trained weights into ``model``."""
        for mine, theirs in zip(self.model.variables, model.variables):
            theirs.assign(mine.value)

    def restore_best(self) -> int | None:
        """Put back the weights of the best epoch under early stopping; its index or None."""
        best = int(self._best_epoch.numpy())
        if best < 0:
            return None
        for variable, kept in zip(self.model.variables, self._best):
            variable.assign(kept)
        return best

    def kernels(self) -> list:
        return [v.numpy().copy() for v in self.model.trainable_variables if len(v.shape) >= 2]

    def predict(self, x) -> np.ndarray:
        return np.asarray(self.model(x, training=False), dtype="float64")

    def loss(self, x, y) -> float:
        return float(self.loss_fn(y, self.model(x, training=False)))

    # -- the loop ------------------------------------------------------------------------
    def run(self, x, y, w, held_x, held_y, *, seed: int, first_epoch: int, epochs: int,
            batch_size: int, rates, max_steps: int = 0, patience: int = 0):
        """Train ``epochs`` more epochs in one call. ``rates``: the learning rate of each
        step from the start of the run (the last one holds after). ``patience`` > 0 stops
        once the held-out loss has not improved for that many epochs. ``max_steps`` > 0
        stops after that many steps. Returns (epoch losses, step losses, stop code)."""
        args = (x, y, w, held_x, held_y, tf.constant(seed, "int32"),
                tf.constant(first_epoch, "int32"), tf.constant(epochs, "int32"),
                tf.constant(batch_size, "int32"),
                tf.constant(np.asarray(rates, dtype="float32").reshape(-1)),
                tf.constant(max_steps, "int32"), tf.constant(patience, "int32"))
        try:
            losses, steps, stop = self._loop_for(self.xla)(*args)
        except Exception:  # noqa: BLE001 - XLA cannot compile this model's step
            if not self.xla:
                raise
            # it failed compiling, before any weight moved: the plain program goes on
            self.xla = False
            losses, steps, stop = self._loop_for(False)(*args)
        self._finalize()  # the trace left graph tensors in the adapted layers
        return losses.numpy(), steps.numpy(), int(stop)

    def _train(self, x, y, w, held_x, held_y, seed, first_epoch, epochs, batch_size, rates,
               max_steps, patience, xla: bool = False):
        """The loop, written with ``tf.while_loop``/``tf.cond`` and traced without autograph
        (Keras' own layers and optimizers need none): half the tracing time."""
        self._finalize()
        model, optimizer, weights = self.model, self.optimizer, self.model.trainable_variables
        rows = tf.shape(x)[0]
        steps = (rows + batch_size - 1) // batch_size
        last_rate = tf.shape(rates)[0] - 1

        def update(xb, yb, wb):
            with tf.GradientTape() as tape:
                loss = self.loss_fn(yb, model(xb, training=True), sample_weight=wb)
                if model.losses:
                    loss = loss + tf.add_n(model.losses)
            optimizer.apply(tape.gradient(loss, weights), weights)
            return loss

        if xla:  # one XLA program per batch shape (the last batch may be shorter)
            update = tf.function(update, jit_compile=True, autograph=False)

        def step(i, order, total, step_losses):
            take = order[i * batch_size:tf.minimum((i + 1) * batch_size, rows)]
            optimizer.learning_rate.assign(rates[tf.minimum(self._step.read_value(), last_rate)])
            loss = update(tf.gather(x, take), tf.gather(y, take), tf.gather(w, take))
            with tf.control_dependencies([self._step.assign_add(1)]):
                size = tf.cast(tf.shape(take)[0], "float32")
                return i + 1, order, total + loss * size, step_losses.write(step_losses.size(), loss)

        def more_steps(i, order, total, step_losses):
            return tf.logical_and(i < steps, tf.logical_or(max_steps <= 0,
                                                         self._step.read_value() < max_steps))

        def wait():
            with tf.control_dependencies([self._wait.assign_add(1)]):
                return tf.where(self._wait.read_value() >= patience, LEVELLED, RAN)

        def early_stop(epoch):
            held = self.loss_fn(held_y, model(held_x, training=False))
            improved = held < self._best_loss.read_value()

            def better():
                with tf.control_dependencies([self._best_loss.assign(held)]):
                    assigns = [kept.assign(v) for kept, v in zip(self._best, model.variables)]
                    assigns += [self._best_epoch.assign(first_epoch + epoch), self._wait.assign(0)]
                    with tf.control_dependencies(assigns):
                        return tf.constant(RAN)

            return tf.cond(improved, better,
                          lambda: tf.cond(tf.math.is_finite(held), wait, lambda: tf.constant(RAN)))

        def epoch_body(epoch, stop, epoch_losses, step_losses):
            order = tf.random.experimental.stateless_shuffle(
                tf.range(rows), seed=tf.stack([seed, first_epoch + epoch]))
            done, _, total, step_losses = tf.while_loop(
                more_steps, step, (tf.constant(0), order, tf.constant(0.0), step_losses))
            epoch_loss = total / tf.cast(rows, "float32")
            epoch_losses = epoch_losses.write(epoch, epoch_loss)
            stop = tf.where(done < steps, STEP_LIMIT,
                           tf.where(tf.math.is_finite(epoch_loss), RAN, NONFINITE))
            stop = tf.cond(tf.logical_and(stop == RAN, patience > 0), lambda: early_stop(epoch),
                          lambda: stop)
            return epoch + 1, stop, epoch_losses, step_losses

        _, stop, epoch_losses, step_losses = tf.while_loop(
            lambda epoch, stop, *_: tf.logical_and(epoch < epochs, stop == RAN), epoch_body,
            (tf.constant(0), tf.constant(RAN), tf.TensorArray("float32", size=0, dynamic_size=True),
             tf.TensorArray("float32", size=0, dynamic_size=True)))
        return epoch_losses.stack(), step_losses.stack(), stop


def epochs_in_next_call(done: int, planned: int, per_epoch: float | None, limit: float | None,
           next_check: int | None) -> int:
    """How many epochs the next call runs: one at a time for the first two (they decide
    the learning-rate evidence and time the epochs), then about :data:`CHUNK_SECONDS`, never
    past the time limit or the next stuck check."""
    if done < 2 or not per_epoch:
        return 1
    size = max(1, int(CHUNK_SECONDS / per_epoch))
    if limit is not None:
        size = min(size, max(1, int((limit - time.monotonic()) / per_epoch)))
    if next_check is not None and next_check > done:
        size = min(size, next_check - done)
    return max(1, min(size, planned - done))


def fit(program: Program, model, setup, x, y, *, seed: int, sample_weight=None, deadline=None,
        reject_stuck: bool = True, diagnostic: bool = False, validation=None, patience: int = 0,
        on_epoch=None) -> TrainLog:
    """Train ``model`` for ``setup`` through ``program``; the same record as Keras' path
    (:func:`autofix.training.fit.fit`). Raises when the program fails: the caller falls back
    to Keras, whose error message is the one to report."""
    start = time.monotonic()
    epochs = int(setup.epochs)
    log = TrainLog(epochs_planned=epochs, engine="compiled")
    steps = math.ceil(len(x) / max(1, setup.batch_size))
    probe_x, probe_y = x[:256], y[:256]
    program.load(model)
    try:
        log.initial_loss = program.loss(probe_x, probe_y)
    except Exception:  # noqa: BLE001 - evidence only
        log.initial_loss = None
    weights = np.ones(len(x), "float32") if sample_weight is None else sample_weight.astype("float32")
    # with no rows held out, early stopping watches the loss on the training rows themselves
    # (in inference mode); without early stopping the held-out pair is a placeholder
    held = validation if validation is not None else (x, y) if patience > 0 else (x[:1], y[:1])
    tensors = [tf.constant(a) for a in (x, y, weights, held[0], held[1])]
    check = StuckCheck(epochs, reject_stuck)
    kernels = program.kernels()
    per_epoch, done = None, 0
    while done < epochs:
        if interrupts.requested():
            break
        limit = deadline(log) if callable(deadline) else deadline
        if done and limit is not None and time.monotonic() > limit:
            log.stop("time", done)
            break
        size = epochs_in_next_call(done, epochs, per_epoch, limit, check.next)
        began = time.monotonic()
        losses, _, stop = program.run(*tensors, seed=seed, first_epoch=done, epochs=size,
                                      batch_size=setup.batch_size, rates=[setup.learning_rate],
                                      patience=patience)
        spent = time.monotonic() - began
        log.losses += [float(v) for v in losses]
        log.epoch_seconds += [spent / max(len(losses), 1)] * len(losses)
        if done >= 1:  # the first call also pays for tracing
            per_epoch = spent / max(len(losses), 1)
        if on_epoch is not None:
            for i, value in enumerate(losses):
                on_epoch(done + i + 1, epochs, float(value))
        if done == 0 and len(losses):
            log.update_ratio = update_ratio(kernels, program.kernels(), steps)
        done += len(losses)
        if stop == NONFINITE:
            log.stop("nonfinite", done, log.losses[-1])
            break
        if stop == LEVELLED:
            log.stopped = "levelled"  # its detail names the best epoch, known below
            break
        if diagnostic and log.conclusive:
            log.stop("conclusive", done)
            break
        if check.due(done) and check.stuck(program.predict(probe_x), log.losses[-1], done):
            log.stop("stuck", done, log.losses[-1])
            break
    if patience > 0:
        best = program.restore_best()
        if log.stopped in ("completed", "levelled"):
            log.best_epoch = None if best is None else best + 1
        if log.stopped == "levelled":
            log.stop("levelled", done)
    program.store(model)
    log.engine = "compiled-xla" if program.xla else "compiled"
    log.seconds = time.monotonic() - start
    return log


def range_test_losses(program: Program, model, setup, x, y, rates, *, seed: int) -> list:
    """The training loss of each step while the learning rate of step i is ``rates[i]``
    (the learning-rate range test), starting from ``model``'s weights; ``model`` itself is
    not changed."""
    program.load(model)
    steps = len(rates)
    epochs = math.ceil(steps / math.ceil(len(x) / max(1, setup.batch_size)))
    tensors = [tf.constant(a) for a in (x, y, np.ones(len(x), "float32"), x[:1], y[:1])]
    _, losses, _ = program.run(*tensors, seed=seed, first_epoch=0, epochs=epochs,
                               batch_size=setup.batch_size, rates=rates, max_steps=steps)
    return [float(v) for v in losses]
