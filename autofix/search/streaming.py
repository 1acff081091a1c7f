"""Data larger than the sample: the chosen repair trained again on the whole stream.

A ``tf.data.Dataset`` or ``keras.utils.PyDataset`` with more rows than autofix reads into
memory (:data:`autofix.inputs.datasets.MAX_ROWS`) is diagnosed and searched on its first rows, a
sample. The repair the search chooses is then built anew and trained on every row of the
stream but the held-out ones, batch by batch through Keras' ``fit`` (the data never has to
fit in memory), until its loss on half of the held-out rows stops falling (the weights of its
best epoch are kept), within the share of the budget kept for it (:data:`STREAM_SHARE`). It
is judged on the other half of the held-out rows, where the sample's model is judged again,
and handed back when it does at least as well there; the report's ``fix.params.streamed``
says on how many rows and for how many epochs it trained.

Held-out rows are picked by a hash of each row's values (one row in
:data:`autofix.inputs.datasets.HOLD_OUT_EVERY`, decided when the inputs are prepared), not by
position: the same rows are held out however the stream orders or shuffles them, and a row
that repeats is always on the same side. Validation data given by the user is used as
it is, and then every row of the stream trains.
"""

from __future__ import annotations

import time

import numpy as np

from autofix import interrupts
from autofix._backend import keras, set_seed, tf
from autofix.inputs import datasets
from autofix.judge import judge
from autofix.search.attempt import Attempt, candidate_targets, deployed, sample_weights
from autofix.search.candidate import Candidate, build
from autofix.training.fit import predict
from autofix.training.train_log import TrainLog

#: the share of the budget kept for training the chosen repair on the whole stream
STREAM_SHARE = 0.4


def _as_tf_data(data, x_sample: np.ndarray, y_sample: np.ndarray):
    """``data``'s ``(x, y)`` batches as a ``tf.data.Dataset`` (sample weights left out)."""
    if isinstance(data, tf.data.Dataset):
        return data.map(lambda *batch: (batch[0], batch[1]))

    def batches():
        for batch in datasets.batches(data):
            yield np.asarray(batch[0], dtype=x_sample.dtype), np.asarray(batch[1], dtype=y_sample.dtype)

    signature = (tf.TensorSpec((None, *x_sample.shape[1:]), tf.as_dtype(x_sample.dtype)),
                 tf.TensorSpec((None, *y_sample.shape[1:]), tf.as_dtype(y_sample.dtype)))
    return tf.data.Dataset.from_generator(batches, output_signature=signature)


def training_stream(data, draft, problem, rows: list):
    """The rows that train: the stream less the held-out rows (none when the user gave
    validation data), batched at the candidate's batch size, with targets (and class
    weights) as the candidate trains on them; ``rows[0]`` counts the rows read."""
    task = draft.task_for(problem.task)
    stream = _as_tf_data(data, problem.x, problem.y).unbatch()
    stream = stream.map(lambda x, y: (tf.cast(x, tf.float32), tf.cast(y, tf.float64)))
    if problem.stream_held_out:
        width = int(np.prod(problem.x.shape[1:]))
        stream = stream.filter(datasets.training_rows(width, problem.seed))
    stream = stream.batch(draft.setup.batch_size)
    shape = candidate_targets(task, draft, problem.y[:2]).shape[1:]
    weighted = bool(draft.setup.class_weight)

    def encode(y):
        rows[0] += len(y)
        targets = candidate_targets(task, draft, y).astype("float32")
        weights = sample_weights(draft, problem.task, y) if weighted else None
        return (targets, weights.astype("float32")) if weighted else targets

    def as_trained(x, y):
        if weighted:
            targets, weights = tf.numpy_function(encode, [y], (tf.float32, tf.float32))
            weights.set_shape([None])
        else:
            targets = tf.numpy_function(encode, [y], tf.float32)
        targets.set_shape([None, *shape])
        return (x, targets, weights) if weighted else (x, targets)

    return stream.map(as_trained).prefetch(tf.data.AUTOTUNE)


#: epochs without a better loss on the stopping rows before the stream's run stops
PATIENCE = 3


def _halves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(stopping rows, judging rows): the held-out rows split in two, seeded."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:n // 2]), np.sort(order[n // 2:])


def refit(data, best: Attempt, problem, registry, *, deadline: float) -> Attempt | None:
    """``best``'s repair built anew and trained on the whole stream (see the module's
    docstring) until its loss on half of the held-out rows stops falling (the weights of its
    best epoch kept), and judged on the other half, where ``best`` is judged again too
    (``params.streamed.sample_metric``). None when it cannot be trained so."""
    started = time.monotonic()
    set_seed(problem.seed)
    try:
        draft = build(best.candidate, problem, registry)
        task, labels = draft.task_for(problem.task), draft.labels
        trained = draft.assemble(problem.input_shape, for_training=True)
        trained.compile(optimizer=draft.setup.make_optimizer(), loss=draft.setup.compile_loss())
        epochs = max(10, int((best.log.best_epoch if best.log else None) or draft.setup.epochs))
        log, rows, per_epoch = TrainLog(epochs_planned=epochs, engine="keras"), [0], []
        stop_rows, judge_rows = _halves(len(problem.x_val), problem.seed)
        stopping = (problem.x_val[stop_rows],
                    candidate_targets(task, draft, problem.y_val[stop_rows]))

        best_so_far = {"loss": np.inf, "weights": None, "epoch": None}

        def at_epoch_end(epoch, logs):
            logs = logs or {}
            log.losses.append(float(logs.get("loss", float("nan"))))
            log.epoch_seconds.append(time.monotonic() - started - sum(log.epoch_seconds))
            if not per_epoch and log.stopped != "time":
                per_epoch.append(rows[0])  # rows of one whole pass over the stream
            held = float(logs.get("val_loss", float("nan")))
            if np.isfinite(held) and held < best_so_far["loss"]:
                best_so_far.update(loss=held, weights=trained.get_weights(), epoch=epoch + 1)
            elif best_so_far["epoch"] is not None and epoch + 1 - best_so_far["epoch"] >= PATIENCE:
                trained.stop_training = True  # no better on the stopping rows for a while

        def at_batch_end(batch, logs):
            if interrupts.requested():  # Ctrl-C: the repair stops at its next safe point
                trained.stop_training = True
            elif time.monotonic() >= deadline:  # (an epoch over big data can be long)
                trained.stop_training = True
                log.stopped, log.detail = "time", "the budget ran out"

        watch = keras.callbacks.LambdaCallback(on_epoch_end=at_epoch_end,
                                                 on_train_batch_end=at_batch_end)
        trained.fit(training_stream(data, draft, problem, rows), epochs=epochs, verbose=0,
                    validation_data=stopping, callbacks=[watch])
    except Exception:  # noqa: BLE001 - the sample's model stands
        return None
    if best_so_far["weights"] is None:
        return None  # no epoch with a finite loss on the stopping rows
    trained.set_weights(best_so_far["weights"])  # the best epoch's weights
    log.best_epoch = best_so_far["epoch"]
    log.seconds = time.monotonic() - started
    model = deployed(draft, problem)
    attempt = Attempt(Candidate.of(best.candidate.strategies, best.candidate.param_dict),
                      params=dict(best.params), model=model, setup=draft.setup, log=log,
                      judged_by=f"{len(judge_rows)} held-out rows (the other "
                                f"{len(stop_rows)} decided when its run on the whole dataset stopped)")
    y_judged = labels(problem.y_val[judge_rows])
    attempt.val_pred = predict(model, problem.x_val)
    attempt.verdict = judge(task, labels(problem.y), y_judged, attempt.val_pred[judge_rows])
    sample = judge(task, labels(problem.y), y_judged, best.val_pred[judge_rows])
    attempt.fit_verdict = best.fit_verdict
    attempt.reason = attempt.verdict.reason
    attempt.params["streamed"] = {"rows": per_epoch[0] if per_epoch else rows[0],
                                  "epochs": len(log.losses), "best_epoch": log.best_epoch,
                                  "stopped_by_budget": log.stopped == "time",
                                  "sample_metric": sample.metric}
    attempt.seconds = time.monotonic() - started
    return attempt
