import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import pytest

ROWS = 600


@pytest.fixture(scope="session")
def case():
    """A scenario's broken model, trained as its user did (cached for the session)."""
    from autofix.bench.scenarios import make_case

    cache = {}

    def get(name, **kwargs):
        key = (name, tuple(sorted(kwargs.items())))
        if key not in cache:
            kwargs.setdefault("rows", ROWS)
            kwargs.setdefault("timed", False)  # (the benchmark times plain fits, not the tests)
            cache[key] = make_case(name, **kwargs)
        return cache[key]

    return get


@pytest.fixture(scope="session")
def diagnosed(case):
    """(problem, diagnosis) for a scenario, cached."""
    from autofix.diagnosis.diagnose import diagnose_problem
    from autofix.inputs.preparation import prepare

    cache = {}

    def get(name):
        if name not in cache:
            c = case(name)
            problem, _ = prepare(c.model, c.x, c.y, epochs=c.epochs, batch_size=c.batch_size)
            diagnosis = diagnose_problem(problem)
            problem.findings = diagnosis.findings
            cache[name] = (problem, diagnosis)
        return cache[name]

    return get


@pytest.fixture
def regression_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype("float32")
    y = (x[:, 0] - 2 * x[:, 1]).astype("float32")
    return x, y
