"""How sure a result is: a relevance in [0, 1] on one scale for every mode, and the line
below which a result is `weak`.

A result's score is no such thing: hybrid ranks by reciprocal-rank votes (0.04-0.21), semantic
by cosine, lexical by bm25, and similar-code cosines sit far higher than query cosines. The
cosine between the query and the result is the common ground, but its level moves with the
model and the query ("parse" is close to half of any code base). So the relevance reads two
things: the cosine itself, and how far the result stands above the query's own field (the
mean cosine of its dense candidates), through a logistic curve fitted on hand-labelled
queries, answerable and unanswerable (bench/quality/calibrate.py, README "Knowing when
nothing matches"). The threshold is chosen there too.

Pure arithmetic: engine.py gathers the cosines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Calibration:
    """A logistic curve over (cosine, cosine above the field), and the weak line on it."""

    cosine_weight: float
    lift_weight: float
    bias: float
    threshold: float  # a result below this relevance is weak

    def relevance(self, cosine: float, field: float) -> float:
        z = self.cosine_weight * cosine + self.lift_weight * (cosine - field) + self.bias
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


# Fitted by `python -m bench.quality.calibrate` per model (the GGUF's general.name); its
# figures are in bench/results/calibration.md.
CALIBRATIONS = {
    "findcode-minilm-code": Calibration(
        cosine_weight=3.589, lift_weight=10.319, bias=-4.754, threshold=0.09
    ),
    "all-MiniLM-L6-v2": Calibration(
        cosine_weight=2.266, lift_weight=11.083, bias=-4.311, threshold=0.10
    ),
}
# Any other model: the default's curve, which reads the cosine relative to the query's field
# and so carries over roughly; README says a user's own model is not calibrated.
DEFAULT_CALIBRATION = CALIBRATIONS["findcode-minilm-code"]


def calibration_for(model_name: str) -> Calibration:
    return CALIBRATIONS.get(model_name, DEFAULT_CALIBRATION)


def field_of(cosines: Sequence[float]) -> float:
    """The query's field: the mean cosine of its dense candidates (0 when it has none)."""
    return sum(cosines) / len(cosines) if cosines else 0.0
