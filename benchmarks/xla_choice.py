"""Whether XLA-compiled training steps pay, per kind and size of model.

For each model: the same loop as autofix's compiled training (a ``tf.function`` over every
step of every epoch, each step a forward pass, a gradient and Adam's update) with and without
the step compiled by XLA; 1000 rows, batch 32, 5 epochs. ``first`` is the first call (the
trace, and XLA's compiling), ``run`` a second call. The last columns set the measurement
beside the choice :func:`autofix.training.compiled.wants_xla` makes for the model, and
what a candidate of :data:`CANDIDATE_EPOCHS` epochs would cost each way (the first call,
then the runs after it).

    python -m benchmarks.xla_choice
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROWS, BATCH, EPOCHS = 1000, 32, 5
#: a candidate's usual length (autofix's epoch cap for a user's 25 epochs or fewer)
CANDIDATE_EPOCHS = 100


def _models(k):
    dense, drop, norm = k.layers.Dense, k.layers.Dropout, k.layers.BatchNormalization

    def mlp(width, depth=2, activation="relu", extra=()):
        layers = [k.Input((20,))]
        for _ in range(depth):
            layers += [dense(width, activation=activation), *[e() for e in extra]]
        return k.Sequential(layers + [dense(1)])

    def seq(*layers, shape=(20, 1)):
        return k.Sequential([k.Input(shape), *layers, dense(1)])

    return [
        ("MLP 2x32", (20,), lambda: mlp(32)),
        ("MLP 2x128", (20,), lambda: mlp(128)),
        ("MLP 2x256", (20,), lambda: mlp(256)),
        ("MLP 2x256 + Dropout", (20,), lambda: mlp(256, extra=(lambda: drop(0.2),))),
        ("MLP 2x256 + BatchNorm", (20,), lambda: mlp(256, extra=(norm,))),
        ("MLP 8x64 sigmoid", (20,), lambda: mlp(64, depth=8, activation="sigmoid")),
        ("Conv1D", (50, 3), lambda: seq(k.layers.Conv1D(16, 3, activation="relu"),
                                        k.layers.GlobalAveragePooling1D(), shape=(50, 3))),
        ("Conv2D 28x28", (28, 28, 1), lambda: seq(
            k.layers.Conv2D(16, 3, activation="relu"), k.layers.MaxPooling2D(),
            k.layers.Conv2D(32, 3, activation="relu"), k.layers.Flatten(), shape=(28, 28, 1))),
        ("SimpleRNN 16", (20, 1), lambda: seq(k.layers.SimpleRNN(16))),
        ("GRU 32", (20, 1), lambda: seq(k.layers.GRU(32))),
        ("LSTM 32 + Dropout", (20, 1), lambda: seq(k.layers.LSTM(32), drop(0.2))),
        ("Conv1D + LSTM", (50, 3), lambda: seq(k.layers.Conv1D(16, 3, activation="relu"),
                                               k.layers.LSTM(16), shape=(50, 3))),
    ]


def _time(k, tf, make, shape, xla: bool) -> tuple[float, float]:
    import numpy as np

    k.utils.set_random_seed(0)
    model = make()
    optimizer = k.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    loss_fn = k.losses.MeanSquaredError()
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(ROWS, *shape)).astype("float32"))
    y = tf.constant(rng.normal(size=(ROWS, 1)).astype("float32"))

    def update(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss

    if xla:
        update = tf.function(update, jit_compile=True, autograph=False)

    @tf.function(autograph=False)
    def loop(x, y):
        rows = tf.shape(x)[0]
        steps = (rows + BATCH - 1) // BATCH

        def epoch(e, total):
            def step(i, total):
                lo = i * BATCH
                hi = tf.minimum(lo + BATCH, rows)
                return i + 1, total + update(x[lo:hi], y[lo:hi])
            return e + 1, tf.while_loop(lambda i, _: i < steps, step, (0, total))[1]
        return tf.while_loop(lambda e, _: e < EPOCHS, epoch, (0, 0.0))[1]

    began = time.monotonic()
    loop(x, y)
    first = time.monotonic() - began
    began = time.monotonic()
    loop(x, y)
    return first, time.monotonic() - began


def measure() -> list[dict]:
    from autofix._backend import keras, tf
    from autofix.training.compiled import wants_xla

    k, t = keras, tf
    out = []
    for name, shape, make in _models(k):
        plain_first, plain_run = _time(k, t, make, shape, xla=False)
        xla_first, xla_run = _time(k, t, make, shape, xla=True)
        runs = CANDIDATE_EPOCHS / EPOCHS  # the first call's trace, then this many runs
        row = {"model": name, "plain_first_s": round(plain_first, 3),
               "plain_run_s": round(plain_run, 3), "xla_first_s": round(xla_first, 3),
               "xla_run_s": round(xla_run, 3), "speedup": round(plain_run / xla_run, 2),
               "candidate_plain_s": round(plain_first + (runs - 1) * plain_run, 2),
               "candidate_xla_s": round(xla_first + (runs - 1) * xla_run, 2),
               "autofix_uses_xla": wants_xla(make())}
        row["xla_pays"] = row["candidate_xla_s"] < row["candidate_plain_s"]
        out.append(row)
        print(f"  {name}: XLA {row['speedup']}x per run, compiles in {xla_first:.2f}s "
              f"(plain {plain_first:.2f}s); autofix uses XLA: {row['autofix_uses_xla']}",
              flush=True)
    return out


def markdown(rows: list[dict]) -> list[str]:
    lines = ["| model | plain: first s | plain: run s | XLA: first s | XLA: run s "
             f"| XLA speed-up per run | {CANDIDATE_EPOCHS} epochs plain s "
             f"| {CANDIDATE_EPOCHS} epochs XLA s | autofix uses XLA |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['plain_first_s']} | {r['plain_run_s']} | "
                     f"{r['xla_first_s']} | {r['xla_run_s']} | {r['speedup']} | "
                     f"{r['candidate_plain_s']} | {r['candidate_xla_s']} | "
                     f"{'yes' if r['autofix_uses_xla'] else 'no'} |")
    return lines


if __name__ == "__main__":
    print("\n".join(markdown(measure())))
