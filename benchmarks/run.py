"""autofix's performance benchmark: one run measures everything, side by side.

    python -m benchmarks.run            # full: writes benchmarks/RESULTS.md and results.json
    python -m benchmarks.run --quick    # a few scenarios, small sizes (what CI runs)

1. repair cost ratio: in-process ``autofix.repair`` time / one plain ``model.fit`` of the
   user's broken model with its own settings, per scenario, same process; and what the
   repair recovers: recovery = (fixed - constant) / (reference - constant), where the
   reference is the scenario's correctly built model of the same size trained on the same
   training rows, beside the same number for the textbook rebuild (the ``rebuild``
   strategy alone: no diagnosis) run on the same split (not in --quick);
2. blind search: keras-tuner RandomSearch over the same repair space (strategies + learning
   rate + epochs) with 10x autofix's time (at most 90 s): when it first reaches a non-degenerate model and
   autofix's metric;
3. diagnosis alone on 10,000 x 20; 4. scale (1k, 10k, 100k rows); 5. peak memory of
   ``autofix repair`` vs a process that loads and fits once; 6. ``autofix --help`` start-up;
7. the speed-ups one by one (compiled training, lean training, early rejection) switched
   off and on;
8. candidate throughput: trainings of the user's model (its epochs and batch size, a
   learning rate and seed per trial, as a search's trials) completed in the time of one
   plain ``model.fit``, per scenario, compiled training on (and off, on a few scenarios),
   one after the other and as stacked copies in one program;
9. end to end, whole processes: ``autofix repair`` vs ``python train.py`` (import, load,
   one plain fit of the same model with the user's epochs and batch size);
10. XLA-compiled steps against plain ones per kind and size of model, beside the choice
   autofix makes (``benchmarks/xla_choice.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

HERE = Path(__file__).resolve().parent
QUICK_SCENARIOS = ("relu_output_signed_targets", "all_zero_labels", "healthy")
#: the scenarios whose whole processes are timed, and whose speed-ups are switched off and on
PROCESS_SCENARIOS = ("unnormalized_inputs", "zero_init", "learning_rate_too_high",
                     "mse_on_onehot", "unscaled_targets")
SPEEDUP_SCENARIOS = ("zero_init", "unnormalized_inputs", "noise_labels", "learning_rate_too_low",
                     "learning_rate_too_high")
#: trainings per scenario in the throughput measurement
TRIALS = 8
#: the blind search gets this many times autofix's time on the scenario, at most this long
BLIND_FACTOR, BLIND_MAX_SECONDS = 10, 90


def _warm_up():
    """Trace TensorFlow once so that the first scenario does not pay for everyone."""
    import autofix
    from autofix.bench.scenarios import make_case

    case = make_case("healthy", rows=200, epochs=2)
    autofix.repair(case.model, case.x, case.y, epochs=2)


def scenario_rows(names, rows: int, blind: bool, seed: int = 0, rebuild: bool = True) -> list[dict]:
    from autofix.bench import runs as bench
    from autofix.bench.scenarios import make_case
    from autofix.inputs.preparation import prepare
    from autofix.strategies import registry
    from benchmarks.blind_search import blind_search

    out = []
    for name in names:
        case = make_case(name, rows=rows, seed=seed)
        row = bench.run_scenario(name, seed=seed, case=case, reference=True, rebuild=rebuild)
        seconds = row["seconds"]
        if blind and case.expect_status == "repaired" and row["status"] == "repaired":
            problem, _ = prepare(case.model, case.x, case.y, epochs=case.epochs,
                                 batch_size=case.batch_size, seed=seed)
            allowed = min(BLIND_FACTOR * seconds, BLIND_MAX_SECONDS)
            trials = blind_search(problem, registry(), seconds=allowed, seed=seed)
            first = next((t for t, a in trials if not a.degenerate), None)
            same = next((t for t, a in trials if not a.degenerate and a.metric is not None
                         and a.metric >= row["after"]), None)
            row["blind"] = {
                "budget_seconds": round(allowed, 2), "trials": len(trials),
                "first_healthy_seconds": None if first is None else round(first, 2),
                "same_metric_seconds": None if same is None else round(same, 2),
                "best_metric": max((a.metric for _, a in trials if a.metric is not None), default=None),
            }
            row["blind"]["speedup"] = (round(same / seconds, 2) if same is not None else None)
        out.append(row)
        print(f"  {name}: {row['status']} in {seconds:.1f}s (plain fit {case.train_seconds:.1f}s)"
              + (f", recovery {row['recovery']:.2f}" if row["recovery"] is not None else "")
              + (f", rebuild {_f(row['rebuild_metric'], 3)} (recovery {_f(row['rebuild_recovery'])})"
                 if row["rebuild_seconds"] is not None else "")
              + (f", blind first healthy {row['blind']['first_healthy_seconds']}s, same metric "
                 f"{row['blind']['same_metric_seconds']}s" if "blind" in row else ""), flush=True)
    return out


def diagnosis_time(rows: int = 10_000, features: int = 20, repeats: int = 3) -> dict:
    import numpy as np

    import autofix
    from autofix._backend import keras

    k = keras
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, features)).astype("float32")
    x[:, 1] *= 1000
    y = (x[:, 0] - x[:, 1] / 1000 + 0.1 * rng.normal(size=rows)).astype("float32")
    k.utils.set_random_seed(0)
    model = k.Sequential([k.Input((features,)), k.layers.Dense(32, activation="relu"),
                          k.layers.Dense(1, activation="relu")])
    model.compile(optimizer="adam", loss="mse")
    times, codes = [], []
    for _ in range(repeats):
        started = time.monotonic()
        findings = autofix.diagnose(model, x, y)
        times.append(time.monotonic() - started)
        codes = [f.code for f in findings]
    return {"rows": rows, "features": features, "seconds": round(statistics.median(times), 3),
            "all_seconds": [round(t, 3) for t in times], "findings": codes}


def scale(sizes, scenario: str = "unnormalized_inputs", epochs: int = 5) -> list[dict]:
    import autofix
    from autofix.bench.scenarios import make_case
    from autofix.diagnosis.diagnose import diagnose_problem
    from autofix.inputs.preparation import prepare

    out = []
    for rows in sizes:
        case = make_case(scenario, rows=rows, epochs=epochs)
        problem, _ = prepare(case.model, case.x, case.y, epochs=epochs, batch_size=case.batch_size)
        started = time.monotonic()
        diagnose_problem(problem)
        diag = time.monotonic() - started
        started = time.monotonic()
        result = autofix.repair(case.model, case.x, case.y, epochs=epochs, batch_size=case.batch_size)
        rep = time.monotonic() - started
        out.append({"rows": rows, "epochs": epochs, "fit_seconds": round(case.train_seconds, 3),
                    "diagnosis_seconds": round(diag, 3), "repair_seconds": round(rep, 3),
                    "ratio": round(rep / case.train_seconds, 3), "status": result.status})
        print(f"  scale {rows}: fit {case.train_seconds:.1f}s diagnosis {diag:.2f}s repair {rep:.1f}s",
              flush=True)
    return out


PLAIN_FIT = """
import os, sys, resource
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
model = keras.models.load_model(sys.argv[1])
data = np.load(sys.argv[2], allow_pickle=False)
model.fit(data["x"], data["y"], epochs=int(sys.argv[3]), batch_size=int(sys.argv[4]), verbose=0)
"""

PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _peak_kib(argv) -> int:
    out = subprocess.run([sys.executable, "-c", PEAK, *argv], capture_output=True, text=True,
                         timeout=900)
    return int(out.stdout.strip().splitlines()[-1])


def memory(scenario: str = "unnormalized_inputs", rows: int = 1000) -> dict:
    import numpy as np

    from autofix.bench.scenarios import make_case

    case = make_case(scenario, rows=rows)
    with tempfile.TemporaryDirectory() as tmp:
        model, data = Path(tmp) / "model.keras", Path(tmp) / "data.npz"
        case.model.save(model)
        np.savez(data, x=case.x, y=case.y)
        fit_kib = _peak_kib([sys.executable, "-c", PLAIN_FIT, str(model), str(data),
                             str(case.epochs), str(case.batch_size)])
        repair_kib = _peak_kib([sys.executable, "-m", "autofix", "repair", str(model), str(data),
                                "-o", str(Path(tmp) / "fixed.keras"), "--epochs", str(case.epochs),
                                "--quiet"])
    return {"scenario": scenario, "rows": rows, "plain_fit_mib": round(fit_kib / 1024, 1),
            "repair_mib": round(repair_kib / 1024, 1), "ratio": round(repair_kib / fit_kib, 3)}


def cli_start(repeats: int = 5) -> dict:
    times = []
    for _ in range(repeats):
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "autofix", "--help"], capture_output=True, timeout=60)
        times.append(time.monotonic() - started)
    return {"seconds": round(statistics.median(times), 3)}


def speedups(names, rows: int) -> list[dict]:
    """Repair time with each speed-up switched off, then on (same scenarios, same process)."""
    import autofix
    from autofix.bench.scenarios import make_case
    from autofix.training.fit import switched

    cases = [make_case(n, rows=rows) for n in names]

    def total(**kwargs) -> float:
        started = time.monotonic()
        for c in cases:
            autofix.repair(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size, **kwargs)
        return time.monotonic() - started

    out = []
    for label, field in (("compiled training (one program per candidate, one trace per architecture)",
                          "compiled"),
                         ("lean training (tf.data cache + steps_per_execution), compiled off", "lean"),
                         ("early stops (stuck candidates, conclusive diagnostic reruns)", "reject_stuck"),
                         ("lazy evidence (rerun the user's training only when needed)", None)):
        if field is None:
            before, after = total(thorough=True), total()
        else:
            # the lean path is what runs when compiled training is off
            base = {"compiled": False} if field == "lean" else {}
            with switched(**base, **{field: False}):
                before = total()
            with switched(**base, **{field: True}):
                after = total()
        out.append({"speedup": label, "scenarios": list(names), "off_seconds": round(before, 2),
                    "on_seconds": round(after, 2), "factor": round(before / after, 2)})
        print(f"  {label}: {before:.1f}s off, {after:.1f}s on", flush=True)
    return out


def throughput(names, rows: int = 1000, trials: int = TRIALS, compiled: bool = True) -> list[dict]:
    """Trainings of each scenario's user model (a fresh clone; the user's epochs, batch size
    and optimizer; trial i at the user's learning rate times 3**(i % 3 - 1), seed i) done in
    the time of one plain ``model.fit`` of it. No trace is reused from earlier work. With
    compiled training on, the same trials also run as stacked copies in one program
    (:mod:`autofix.training.stacked`), where the model and optimizer allow it."""
    import numpy as np

    from autofix._backend import keras
    from autofix.bench.runs import split_problem
    from autofix.bench.scenarios import make_case
    from autofix.diagnosis.diagnose import original_targets
    from autofix.training import compiled as compiled_training
    from autofix.training.fit import fit, switched
    from autofix.training.stacked import StackedProgram, fit_stacked, stackable

    k = keras
    out = []
    with switched(compiled=compiled):
        for name in names:
            case = make_case(name, rows=rows)
            if case.train_seconds < 0.05:  # the user's own fit failed at once: nothing to compare
                continue
            problem = split_problem(case)
            targets = original_targets(problem, problem.y)
            k.utils.set_random_seed(0)
            model = k.models.clone_model(case.model)
            start = model.get_weights()
            compiled_training.clear_cache()
            times = []
            rates = [problem.setup.learning_rate * 3.0 ** (i % 3 - 1) for i in range(trials)]
            for i in range(trials):
                model.set_weights(start)
                began = time.monotonic()
                fit(model, problem.setup.replace(learning_rate=rates[i]), problem.x, targets,
                    seed=i, reject_stuck=False)
                times.append(time.monotonic() - began)
            plain = round(case.train_seconds, 3)
            stacked = None
            if compiled and stackable(model, problem.setup) is None:
                copies = [k.models.clone_model(model) for _ in range(trials)]
                for copy in copies:
                    copy.set_weights(start)
                x32, y32 = problem.x.astype("float32"), np.asarray(targets, "float32")
                began = time.monotonic()
                fit_stacked(StackedProgram(model, problem.setup, x32, y32, trials), copies,
                            problem.setup, x32, y32, seeds=list(range(trials)), rates=rates)
                stacked = round(time.monotonic() - began, 3)
            row = {"scenario": name, "compiled": compiled, "epochs": int(problem.setup.epochs),
                   "trials": trials, "total_seconds": round(sum(times), 3),
                   "plain_fit_seconds": round(plain, 3), "first_seconds": round(times[0], 3),
                   "later_seconds": round(float(np.median(times[1:])), 3),
                   "per_plain_fit": round(trials * plain / round(sum(times), 3), 2),
                   "later_per_plain_fit": round(plain / float(np.median(times[1:])), 2),
                   "stacked_seconds": stacked,
                   "stacked_per_plain_fit": (round(trials * plain / stacked, 2) if stacked
                                             else None)}
            out.append(row)
            print(f"  {name}: {row['per_plain_fit']} trainings per plain fit "
                  f"(first {times[0]:.2f}s, later {row['later_seconds']:.2f}s, plain {plain:.2f}s; "
                  f"stacked: {row['stacked_per_plain_fit']})", flush=True)
    return out


def end_to_end(names=PROCESS_SCENARIOS, rows: int = 1000) -> list[dict]:
    """``autofix repair`` as a user runs it vs ``python train.py`` (import, load, one plain
    fit with the user's epochs and batch size), both whole processes."""
    import numpy as np

    from autofix.bench.scenarios import make_case

    out = []
    for name in names:
        case = make_case(name, rows=rows, timed=False)
        with tempfile.TemporaryDirectory() as tmp:
            model, data = Path(tmp) / "model.keras", Path(tmp) / "data.npz"
            case.model.save(model)
            np.savez(data, x=case.x, y=case.y)
            started = time.monotonic()
            subprocess.run([sys.executable, "-c", PLAIN_FIT, str(model), str(data),
                            str(case.epochs), str(case.batch_size)], capture_output=True, timeout=900)
            train = time.monotonic() - started
            started = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "autofix", "repair", str(model), str(data),
                                   "-o", str(Path(tmp) / "fixed.keras"), "--epochs", str(case.epochs),
                                   "--batch-size", str(case.batch_size), "--quiet"],
                                  capture_output=True, text=True, timeout=900)
            repair = time.monotonic() - started
        out.append({"scenario": name, "train_py_seconds": round(train, 2),
                    "repair_seconds": round(repair, 2), "ratio": round(repair / train, 3),
                    "exit_code": done.returncode, "verdict": done.stdout.strip().splitlines()[-1:]})
        print(f"  {name}: python train.py {train:.1f}s, autofix repair {repair:.1f}s "
              f"(exit {done.returncode})", flush=True)
    return out


def import_costs() -> dict:
    """Seconds to import what a repair needs, each in a fresh process (median of 3)."""
    out = {}
    for label, code in (("tensorflow + keras", "import keras"),
                        ("autofix.cli (what `autofix --help` loads)", "import autofix.cli"),
                        ("the repair path (autofix.api + its strategies)",
                         "import autofix.api, autofix.strategies; autofix.strategies.registry()")):
        times = []
        for _ in range(3):
            started = time.monotonic()
            subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)
            times.append(time.monotonic() - started)
        out[label] = round(statistics.median(times), 2)
    return out


def monitor_overhead(repeats: int = 7, rows: int = 1000, epochs: int = 50) -> dict:
    """A plain fit with and without the DegenerationMonitor callback (median of runs)."""
    import numpy as np

    from autofix._backend import keras
    from autofix.callbacks import DegenerationMonitor

    k = keras
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 10)).astype("float32")
    y = (x[:, 0] - x[:, 1]).astype("float32")

    def run(with_monitor: bool) -> float:
        k.utils.set_random_seed(0)
        model = k.Sequential([k.Input((10,)), k.layers.Dense(32, activation="relu"),
                              k.layers.Dense(32, activation="relu"), k.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        callbacks = [DegenerationMonitor(x[:256], verbose=False)] if with_monitor else []
        started = time.monotonic()
        model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=callbacks)
        return time.monotonic() - started

    run(False)  # warm-up
    plain, monitored = [], []
    for _ in range(repeats):
        plain.append(run(False))
        monitored.append(run(True))
    base, watched = statistics.median(plain), statistics.median(monitored)
    return {"rows": rows, "epochs": epochs, "plain_seconds": round(base, 3),
            "monitored_seconds": round(watched, 3), "overhead": round(watched / base - 1, 4)}


DIST_ENV = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def distributed_times(scenario: str = "unnormalized_inputs") -> dict:
    """`autofix repair` in one process vs a chief and two workers on 127.0.0.1."""
    import socket

    import numpy as np

    from autofix.bench.scenarios import make_case

    case = make_case(scenario)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        case.model.save(tmp / "m.keras")
        np.savez(tmp / "d.npz", x=case.x, y=case.y)
        cli = [sys.executable, "-m", "autofix", "repair", str(tmp / "m.keras"), str(tmp / "d.npz"),
               "--quiet"]
        started = time.monotonic()
        subprocess.run(cli + ["-o", str(tmp / "single.keras")], capture_output=True, timeout=600)
        single = time.monotonic() - started
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = str(s.getsockname()[1])
        env = dict(os.environ, **DIST_ENV, KERASTUNER_ORACLE_PORT=port)
        shared = ["--workdir", str(tmp / "shared")]
        started = time.monotonic()
        procs = [subprocess.Popen(cli + shared + ["-o", str(tmp / "dist.keras")],
                                  env=dict(env, KERASTUNER_TUNER_ID="chief"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        procs += [subprocess.Popen(cli + shared, env=dict(env, KERASTUNER_TUNER_ID=f"tuner{i}"),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in (1, 2)]
        codes = [p.wait(timeout=600) for p in procs]
        dist = time.monotonic() - started
    return {"scenario": scenario, "single_process_seconds": round(single, 2),
            "chief_two_workers_seconds": round(dist, 2), "exit_codes": codes,
            "note": "all three processes share this machine's 2 cores"}


def _f(v, digits=2):
    if v is None:
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)



def _section(title: str, *text: str) -> list[str]:
    """A markdown section of RESULTS.md: a blank line, its heading, a blank line, its text."""
    return ["", f"## {title}", "", *text]

def markdown(results: dict, command: str) -> str:
    rows = results["scenarios"]
    lines = ["# autofix benchmark", "", f"Command: `{command}` ({results['when']}, "
             f"{results['machine']})", "", "## Repair per scenario", "",
             "`autofix` is the metric of the model autofix hands back (the fix, or the user's own "
             "model when nothing was repaired); `reference` that of the scenario's correctly built "
             "model of the same size, trained on the same rows; `rebuild` that of the textbook "
             "rebuild (no diagnosis: fresh init, the task's head and loss, normalized inputs and "
             "targets, Adam 1e-3, early stopping) on the same split. Recovery = (metric - constant) "
             "/ (reference - constant), floored at 0.", "",
             "| scenario | status | ok | error findings | fix | attempts | metric | before | reference "
             "| autofix | autofix recovery | rebuild | rebuild recovery | rebuild s "
             "| plain fit s | repair s | ratio | blind: first healthy s | blind: same metric s | blind trials |",
             "|" + "---|" * 20]
    for r in rows:
        b = r.get("blind", {})
        lines.append(
            f"| {r['scenario']} | {r['status']} | {'yes' if r['passed'] else 'NO'} | "
            f"{', '.join(r['error_findings']) or '-'} | {' + '.join(r['strategies']) or '-'} | {r['attempts']} | "
            f"{r['metric']} | {_f(r['before'], 3)} | {_f(r.get('reference'), 3)} | "
            f"{_f(r.get('handed_back'), 3)} | {_f(r.get('recovery'))} | {_f(r.get('rebuild_metric'), 3)} | "
            f"{_f(r.get('rebuild_recovery'))} | {_f(r.get('rebuild_seconds'))} | {_f(r['fit_seconds'])} | "
            f"{_f(r['seconds'])} | {_f(r['ratio'])} | {_f(b.get('first_healthy_seconds'))} | "
            f"{_f(b.get('same_metric_seconds'))} | {b.get('trials', '-')} |")
    repairable = [r for r in rows if r["expected_status"] == "repaired" and r["ratio"]]
    if repairable:
        ratios = [r["ratio"] for r in repairable]
        lines += ["", f"Repair cost ratio over the {len(ratios)} repairable scenarios: median "
                      f"{statistics.median(ratios):.2f}, worst {max(ratios):.2f} "
                      f"({max(repairable, key=lambda r: r['ratio'])['scenario']})."]
    from autofix.bench.runs import summary_lines

    lines += summary_lines(rows)
    blind = [r for r in rows if "blind" in r]
    if blind:
        beaten = [r for r in blind if r["blind"]["same_metric_seconds"] is None
                  or r["blind"]["same_metric_seconds"] >= 5 * r["seconds"]]
        never = [r["scenario"] for r in blind if r["blind"]["first_healthy_seconds"] is None]
        speed = [r["blind"]["speedup"] for r in blind if r["blind"]["speedup"] is not None]
        lines += [f"Blind search (keras-tuner RandomSearch, {BLIND_FACTOR}x autofix's time, at most "
                  f"{BLIND_MAX_SECONDS} s): needed >= 5x "
                  f"autofix's time to match its metric, or never matched it, in {len(beaten)} of "
                  f"{len(blind)} scenarios; never reached a non-degenerate model in "
                  f"{len(never)} ({', '.join(never) or 'none'})"
                  + (f"; median time-to-same-metric / autofix time where it matched: "
                     f"{statistics.median(speed):.2f}." if speed else ".")]
    d = results["diagnosis"]
    lines += _section("Diagnosis alone",
                      f"`autofix.diagnose` on {d['rows']:,} rows x {d['features']} features: median "
                      f"{d['seconds']:.2f} s over {len(d['all_seconds'])} runs (after imports); findings: "
                      f"{', '.join(d['findings'])}.")
    lines += _section("Scale (unnormalized_inputs, 5 epochs)",
                      "| rows | plain fit s | diagnosis s | repair s | repair / fit | status |",
                      "|---|---|---|---|---|---|")
    lines += [f"| {s['rows']:,} | {_f(s['fit_seconds'])} | {_f(s['diagnosis_seconds'])} | "
              f"{_f(s['repair_seconds'])} | {_f(s['ratio'])} | {s['status']} |" for s in results["scale"]]
    if results.get("memory"):
        m = results["memory"]
        lines += _section("Memory",
                          f"Peak RSS, `{m['scenario']}` ({m['rows']} rows): a process that loads the model "
                          f"and data and runs one plain fit: {m['plain_fit_mib']} MiB; `autofix repair`: "
                          f"{m['repair_mib']} MiB; ratio {m['ratio']:.2f}.")
    lines += _section("CLI start",
                      f"`autofix --help`: {results['cli_start']['seconds']:.2f} s "
                      "(median of 5; TensorFlow is not imported).")
    if results.get("monitor"):
        m = results["monitor"]
        lines += _section("Online monitor",
                          f"`DegenerationMonitor` on a plain fit ({m['rows']} rows, {m['epochs']} epochs): "
                          f"{m['plain_seconds']:.2f} s without, {m['monitored_seconds']:.2f} s with: overhead "
                          f"{100 * m['overhead']:.1f} %.")
    if results.get("distributed"):
        d = results["distributed"]
        lines += _section("Distributed (keras-tuner chief + workers)",
                          f"`autofix repair` on `{d['scenario']}`, whole processes: one process "
                          f"{d['single_process_seconds']:.1f} s; a chief and two workers on 127.0.0.1 "
                          f"{d['chief_two_workers_seconds']:.1f} s (exit codes {d['exit_codes']}; "
                          f"{d['note']}).")
    if results.get("throughput"):
        rows_on = [r for r in results["throughput"] if r["compiled"]]
        rows_off = {r["scenario"]: r for r in results["throughput"] if not r["compiled"]}
        lines += _section("Candidate throughput",
                          f"Trainings of the user's model (its epochs and batch size; "
                          f"{results['throughput'][0]['trials']} trials at its learning rate x 1/3, 1, 3 "
                          "in turn, seed i for trial i, as a search's trials; no trace "
                          "reused from earlier work) completed in the time of one plain `model.fit` of it. "
                          "`first`: the first training (it pays for the trace); `later`: the median of "
                          "the others. Stacked: the same trials as stacked copies in one program, its "
                          "trace included (the repair's own searches do not train this way yet). Off: "
                          "Keras' fit on a cached pipeline (the path before compiled training).", "",
                          "| scenario | epochs | plain fit s | first s | later s | per plain fit "
                          "| later per plain fit | stacked s | stacked per plain fit "
                          "| off: per plain fit |", "|---|---|---|---|---|---|---|---|---|---|")
        for r in rows_on:
            off = rows_off.get(r["scenario"], {})
            lines.append(f"| {r['scenario']} | {r['epochs']} | {r['plain_fit_seconds']} | "
                         f"{r['first_seconds']} | {r['later_seconds']} | {r['per_plain_fit']} | "
                         f"{r['later_per_plain_fit']} | {r.get('stacked_seconds') or '-'} | "
                         f"{r.get('stacked_per_plain_fit') or '-'} | "
                         f"{off.get('per_plain_fit', '-')} |")
        stacked_rows = [r for r in rows_on if r.get("stacked_per_plain_fit")]
        if rows_on:
            lines += ["", f"Median over {len(rows_on)} scenarios: "
                      f"{statistics.median(r['per_plain_fit'] for r in rows_on):.1f} trainings per "
                      f"plain fit (later ones alone: "
                      f"{statistics.median(r['later_per_plain_fit'] for r in rows_on):.1f})"
                      + (f"; with compiled training off, on {len(rows_off)} scenarios: "
                         f"{statistics.median(r['per_plain_fit'] for r in rows_off.values()):.1f}"
                         if rows_off else "")
                      + (f"; stacked, on {len(stacked_rows)} scenarios: "
                         f"{statistics.median(r['stacked_per_plain_fit'] for r in stacked_rows):.1f}"
                         if stacked_rows else "") + "."]
    if results.get("xla"):
        from benchmarks.xla_choice import BATCH, CANDIDATE_EPOCHS, EPOCHS, ROWS
        from benchmarks.xla_choice import markdown as xla_markdown

        rows = results["xla"]
        agree = sum(r["xla_pays"] == r["autofix_uses_xla"] for r in rows)
        lines += _section("XLA per kind of model",
                          f"Each step compiled by XLA or not, in autofix's loop ({ROWS} rows, batch "
                          f"{BATCH}, {EPOCHS} epochs): `first` is the first call (trace, and XLA's "
                          "compiling), `run` a second call. autofix compiles the steps of models with "
                          "a recurrent layer by XLA (a choice fixed by the model, so that a seed gives "
                          "the same weights on every run).", "", *xla_markdown(rows), "",
                          f"autofix's choice matches the faster way to train a candidate of "
                          f"{CANDIDATE_EPOCHS} epochs for {agree} of {len(rows)} models.")
    if results.get("end_to_end"):
        e2e = results["end_to_end"]
        lines += _section("End to end, whole processes",
                          "`autofix repair model.keras data.npz --epochs E --batch-size B --quiet` vs "
                          "`python train.py` (import Keras, load the model and data, one plain fit with "
                          "the same epochs and batch size).", "",
                          "| scenario | python train.py s | autofix repair s | ratio | exit |",
                          "|---|---|---|---|---|")
        lines += [f"| {r['scenario']} | {r['train_py_seconds']} | {r['repair_seconds']} | "
                  f"{r['ratio']:.2f} | {r['exit_code']} |" for r in e2e]
        ratios = [r["ratio"] for r in e2e]
        lines += ["", f"Ratio median {statistics.median(ratios):.2f}, worst {max(ratios):.2f}."]
    if results.get("imports"):
        lines += _section("Import cost (fresh process, median of 3)",
                          "| what | seconds |", "|---|---|")
        lines += [f"| {label} | {v} |" for label, v in results["imports"].items()]
    if results.get("speedups"):
        lines += _section("Speed-ups, each switched off and on",
                          "| speed-up | off s | on s | factor |", "|---|---|---|---|")
        lines += [f"| {s['speedup']} | {s['off_seconds']} | {s['on_seconds']} | {s['factor']} |"
                  for s in results["speedups"]]
        lines += ["", f"(total repair time over: {', '.join(results['speedups'][0]['scenarios'])})"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few scenarios at small sizes")
    parser.add_argument("--out", type=Path, default=None, help="folder for RESULTS.md and results.json")
    args = parser.parse_args(argv)
    from autofix.bench.scenarios import SCENARIOS

    out = args.out or (Path(tempfile.mkdtemp(prefix="autofix-bench-")) if args.quick else HERE)
    out.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.run" + (" --quick" if args.quick else "")
    _warm_up()
    results = {"when": time.strftime("%Y-%m-%d"), "machine": f"{os.cpu_count()} CPU cores",
               "quick": args.quick}
    print("scenarios", flush=True)
    names = QUICK_SCENARIOS if args.quick else tuple(SCENARIOS)
    results["scenarios"] = scenario_rows(names, rows=600 if args.quick else 1000, blind=not args.quick,
                                         rebuild=not args.quick)
    from autofix.bench.runs import recovery_summary

    results["recovery"] = recovery_summary(results["scenarios"])
    print("diagnosis", flush=True)
    results["diagnosis"] = diagnosis_time(rows=2000 if args.quick else 10_000, repeats=1 if args.quick else 3)
    print("scale", flush=True)
    results["scale"] = scale((1000,) if args.quick else (1000, 10_000, 100_000))
    if not args.quick:
        print("memory", flush=True)
        results["memory"] = memory()
        print("speed-ups", flush=True)
        results["speedups"] = speedups(SPEEDUP_SCENARIOS, rows=1000)
        print("throughput", flush=True)
        results["throughput"] = throughput(names, rows=1000) + throughput(
            SPEEDUP_SCENARIOS, rows=1000, compiled=False)
        print("end to end", flush=True)
        results["end_to_end"] = end_to_end()
        results["imports"] = import_costs()
        print("xla", flush=True)
        from benchmarks.xla_choice import measure

        results["xla"] = measure()
        print("monitor", flush=True)
        results["monitor"] = monitor_overhead()
        print("distributed", flush=True)
        results["distributed"] = distributed_times()
    else:
        print("throughput", flush=True)
        results["throughput"] = throughput(QUICK_SCENARIOS, rows=600, trials=3)
    results["cli_start"] = cli_start(3 if args.quick else 5)
    text = markdown(results, command)
    if not args.quick:  # the same rows in `autofix bench`'s own table
        from autofix.bench import runs as bench

        text += ("\n## `autofix bench`\n\nThe rows above as `autofix bench` tabulates them "
                 "(the same function, `autofix.bench.runs.run_scenario`, measured them).\n\n"
                 + bench.markdown(results["scenarios"], "autofix bench"))
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "RESULTS.md").write_text(text)
    print(f"wrote {out / 'RESULTS.md'}")
    failed = [r["scenario"] for r in results["scenarios"] if not r["passed"]]
    if failed:
        print(f"scenarios that did not come out as expected: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
