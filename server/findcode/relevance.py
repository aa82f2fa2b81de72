"""How sure a result is: a relevance in [0, 1] on one scale for every mode, and the line
below which a result is `weak`.

A result's score is no such thing: hybrid ranks by reciprocal-rank votes (0.04-0.21), semantic
by cosine, lexical by bm25, and similar-code cosines sit far higher than query cosines. The
cosine between the query and the result is the common ground, read through a logistic curve
fitted per model on hand-labelled queries, answerable and unanswerable
(bench/quality/calibrate.py, README "Knowing when nothing matches"), where the threshold is
chosen too. The cosine alone: a second feature, how far the result stands above the query's
field (the mean cosine of its dense candidates), told right hits from wrong ones within a query
but told the queries with no answer less well (judged on a corpus the curve was not fitted on,
"no close match" had precision 0.62 and recall 0.43 with it, 0.67 and 0.73 without, for the
default model of the time).

Pure arithmetic: engine.py gathers the cosines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Calibration:
    """A logistic curve over the cosine, and the weak line on it."""

    cosine_weight: float
    bias: float
    threshold: float  # a result below this relevance is weak

    def relevance(self, cosine: float) -> float:
        z = self.cosine_weight * cosine + self.bias
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


# Fitted by `python -m bench.quality.calibrate` per model (the GGUF's general.name); its
# figures are in bench/results/calibration.md.
CALIBRATIONS = {
    "findcode-minilm-code": Calibration(cosine_weight=11.108, bias=-7.817, threshold=0.10),
    "all-MiniLM-L6-v2": Calibration(cosine_weight=8.733, bias=-5.744, threshold=0.09),
}
# Any other model: the default's curve. Each model's cosines sit at a level of their own, so
# its weak marks are rough; README says a user's own model is not calibrated.
DEFAULT_CALIBRATION = CALIBRATIONS["findcode-minilm-code"]


def calibration_for(model_name: str) -> Calibration:
    return CALIBRATIONS.get(model_name, DEFAULT_CALIBRATION)


def field_of(cosines: Sequence[float]) -> float:
    """The query's field: the mean cosine of its dense candidates (0 when it has none), the
    cosine a result not embedded yet is given (nothing says it is close, nor far)."""
    return sum(cosines) / len(cosines) if cosines else 0.0
