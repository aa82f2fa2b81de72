"""A bench's output: its table on stdout, its figures as JSON where the caller asks for them."""

from __future__ import annotations

import json
from pathlib import Path


def publish(lines: list[str], figures: dict, json_path: Path | None) -> None:
    print("\n".join(lines))
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(figures, indent=2))
