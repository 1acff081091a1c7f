"""Plan → retrain: the search for the repair (each candidate judged by :mod:`autofix.judge`).

``planner`` (the candidates the findings call for), ``candidate`` (a model and setup built
from strategies), ``attempt`` (one candidate trained and judged), ``engine`` (the rounds,
the budget, the stopping rule), ``tuning`` (keras-tuner's oracle under a deadline),
``distributed`` (the same search over several processes), ``streaming`` (the chosen repair
trained on a whole large dataset), ``multi_output`` (a model of several outputs, repaired
output by output).
"""
