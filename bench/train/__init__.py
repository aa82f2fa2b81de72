"""Fine-tuning findcode's embedding model on code: mine pairs, train, export to GGUF.

    python -m bench.train            # the default model's whole recipe (recipe.py): mine (once),
                                     # train its two runs (resuming), export
    python -m bench.train mine | measure | train | export

Mined data lives in bench/.cache/train (git-ignored, rebuilt from pinned packages); checkpoints
and the trained model live outside the work tree (RUN_DIR) so a fresh checkout keeps them.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "train"
# Outside the repository: hours of training must survive a clean checkout or a `git clean`.
RUN_DIR = Path(os.environ.get("FINDCODE_TRAIN_DIR", Path.home() / ".cache" / "findcode-train"))
