"""causalsynth from a notebook: judge synthetic tables someone already made against the real one.

:func:`judge` runs the stage functions the workflow's rules call, for one real table and one
or more synthetic tables, in memory: the real table's checks and split (``prepare_dataset``),
a released set's checks (the ``file`` generator), the estimator grid on the real training rows
and on each set (``estimate_real``, ``evaluate_synthetic``), TSTR, fidelity, the DCR screen and
the privacy attacks. :func:`prepare` gives the split judge will use, so that a generator can be
fitted on the training rows alone.
"""

from causalsynth.api.inputs import prepare
from causalsynth.api.judge import judge
from causalsynth.api.result import Judgement

__all__ = ["Judgement", "judge", "prepare"]
