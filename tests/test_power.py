"""power.py: AC or battery, read from a sysfs power_supply tree (here a real folder of files
shaped like a laptop's, a desktop's and a server's)."""

from __future__ import annotations

from pathlib import Path

from findcode.power import on_battery


def supply(base: Path, name: str, **files: str) -> None:
    folder = base / name
    folder.mkdir(parents=True)
    for key, value in files.items():
        (folder / key).write_text(value + "\n")


def test_a_laptop_on_battery_and_plugged_in(tmp_path: Path):
    supply(tmp_path, "AC", type="Mains", online="0")
    supply(tmp_path, "BAT0", type="Battery", status="Discharging")
    assert on_battery(tmp_path) is True
    (tmp_path / "AC" / "online").write_text("1\n")
    (tmp_path / "BAT0" / "status").write_text("Charging\n")
    assert on_battery(tmp_path) is False


def test_a_desktop_with_mains_only_and_a_laptop_without_a_mains_entry(tmp_path: Path):
    supply(tmp_path / "desktop", "ACAD", type="Mains", online="1")
    assert on_battery(tmp_path / "desktop") is False
    supply(tmp_path / "laptop", "BAT1", type="Battery", status="Full")
    assert on_battery(tmp_path / "laptop") is False
    (tmp_path / "laptop" / "BAT1" / "status").write_text("Discharging\n")
    assert on_battery(tmp_path / "laptop") is True


def test_a_peripheral_battery_alone_is_not_the_machine_on_battery(tmp_path: Path):
    # A wireless mouse's battery is type "Battery" too, but with scope "Device"; a machine
    # whose only supply is such a device and which reports no mains cannot be told either way.
    supply(tmp_path, "hidpp_battery_0", type="Battery", status="Discharging", scope="Device")
    assert on_battery(tmp_path) is not True
