"""Parameter sweeps and walk-forward tests of a strategy's backtests, on Dask
distributed (a local cluster by default, or an existing one): ``botkit sweep``, or::

    from botkit import RunConfig
    from botkit.sweep import SweepSpec, run_sweep

    spec = SweepSpec(RunConfig("strategies/scalper.py", "backtest", data="rec.txt.gz"),
                     {"window": [20, 50, 100]}, metric="return")
    result = run_sweep(spec)
    best = result.ranked()[0]

See ``docs/sweeps.md``. Needs ``pip install 'botkit[sweep]'``.
"""

from ._outputs import write_outputs
from ._plan import Fold, combinations, folds
from ._run import SweepResult, SweepSpec, check_spec, run_sweep
from ._task import METRICS, backtest_task

__all__ = ["METRICS", "Fold", "SweepResult", "SweepSpec", "backtest_task", "check_spec", "combinations", "folds",
           "run_sweep", "write_outputs"]
