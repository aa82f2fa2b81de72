"""Whether the machine runs on battery, for `pauseOnBattery`.

Linux says it in sysfs (no dependency); macOS and Windows through psutil when it is installed
(it is not a dependency of findcode: without it the setting has no effect there, and says so).
"""

from __future__ import annotations

import importlib
from pathlib import Path

POWER_SUPPLY = Path("/sys/class/power_supply")


def on_battery(supplies: Path = POWER_SUPPLY) -> bool | None:
    """True on battery, False on mains power, None when the system does not tell."""
    if supplies.is_dir():
        mains = batteries = discharging = 0
        for supply in supplies.iterdir():
            kind = _read(supply / "type")
            if kind == "Mains":
                mains += _read(supply / "online") == "1"
            elif kind == "Battery" and _read(supply / "scope") != "Device":  # not a mouse's
                batteries += 1
                discharging += _read(supply / "status") == "Discharging"
        if batteries:
            return not mains and bool(discharging)
        if mains:
            return False
    try:
        psutil = importlib.import_module("psutil")
    except ImportError:
        return None
    sensors = getattr(psutil, "sensors_battery", None)  # absent where psutil cannot tell
    battery = sensors() if sensors is not None else None
    return None if battery is None else not battery.power_plugged


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
