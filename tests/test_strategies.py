"""One conformance test every registered strategy passes (as scikit-learn's check_estimator)."""

import time

import keras
import numpy as np
import pytest

from autofix.search.candidate import Candidate, build
from autofix.strategies import registry

HEALTHY = ("healthy", "healthy_classifier")
NAMES = list(registry())


def test_registry_has_the_builtin_strategies():
    assert {"normalize_inputs", "swap_output_activation", "change_loss", "reinitialize_weights",
            "rescale_targets", "tune_training", "class_weights", "clip_gradients",
            "adjust_learning_rate", "extend_training", "fix_vanishing_gradients",
            "unfreeze_layers", "widen_bottleneck"} <= set(NAMES)


def test_every_builtin_strategy_is_declared_as_an_entry_point_as_plug_ins_are():
    from pathlib import Path

    import tomllib

    from autofix.strategies import builtin

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    declared = project["project"]["entry-points"]["autofix.strategies"]
    modules = {name for name in vars(builtin) if not name.startswith("_")}
    assert {value.split(":")[0].rsplit(".", 1)[1] for value in declared.values()} == modules
    builtins = {name for name, strategy in registry().items()  # (installed plug-ins aside)
                if type(strategy).__module__.startswith("autofix.strategies.")}
    assert set(declared) == builtins  # each under its strategy's name


@pytest.mark.parametrize("name", NAMES)
def test_strategy_fires_on_its_broken_case_only(name, diagnosed):
    strategy = registry()[name]
    assert strategy.example_scenario, f"{name} names no example scenario"
    assert strategy.summary and strategy.answers
    problem, diagnosis = diagnosed(strategy.example_scenario)
    assert strategy.applies(problem, diagnosis.findings), [str(f) for f in diagnosis.findings]
    for healthy in HEALTHY:
        problem, diagnosis = diagnosed(healthy)
        assert not strategy.applies(problem, diagnosis.findings)


@pytest.mark.parametrize("name", NAMES)
def test_strategy_never_mutates_the_input_and_saves(name, diagnosed, tmp_path):
    strategy = registry()[name]
    problem, _ = diagnosed(strategy.example_scenario)
    weights = [w.copy() for w in problem.model.get_weights()]
    config = problem.model.get_config()
    problem.deadline = time.monotonic() + 5  # a search inside a strategy (keras-tuner) stays short
    try:
        draft = build(Candidate.of([name]), problem, registry())
    finally:
        problem.deadline = None  # (the problem is shared by the session's tests)
    model = draft.assemble(problem.input_shape)
    assert problem.model.get_config() == config
    for before, after in zip(weights, problem.model.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert model is not problem.model
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = problem.x_val[:8]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)
    assert loaded.input_shape[1:] == problem.model.input_shape[1:]


def test_candidates_are_built_fresh(diagnosed):
    problem, _ = diagnosed("zero_init")
    a = build(Candidate.of(["reinitialize_weights"]), problem, registry())
    b = build(Candidate.of(["reinitialize_weights"]), problem, registry())
    assert a.core is not b.core
    for wa, wb in zip(a.core.get_weights(), b.core.get_weights()):
        np.testing.assert_array_equal(wa, wb)  # same seed, same start


def test_rescale_targets_undoes_scaling_inside_the_model(diagnosed):
    problem, _ = diagnosed("unscaled_targets")
    draft = build(Candidate.of(["rescale_targets"]), problem, registry())
    scaled = draft.training_targets(problem.y)
    assert abs(float(scaled.mean())) < 1e-6 and abs(float(scaled.std()) - 1) < 1e-6
    deploy = draft.assemble(problem.input_shape)
    train = draft.assemble(problem.input_shape, for_training=True)
    x = problem.x_val[:5]
    out_train = train.predict(x, verbose=0).ravel()
    out_deploy = deploy.predict(x, verbose=0).ravel()
    np.testing.assert_allclose(out_deploy, out_train * draft.target_scale[0] + draft.target_shift[0],
                               rtol=1e-4)
