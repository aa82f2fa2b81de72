"""`findcode model build|info` as a user runs them: a real process, real files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def findcode(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "findcode", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_info_json_on_the_default_model(model_path: Path) -> None:
    result = findcode("model", "info", str(model_path), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["architecture"] == "bert"
    assert info["pooling"] == "mean"
    assert info["dimensions"] == 384
    assert info["quantization"] == "f16"
    assert info["embedding_model"] is True


def test_info_text(model_path: Path) -> None:
    result = findcode("model", "info", str(model_path))
    assert result.returncode == 0, result.stderr
    assert "architecture:" in result.stdout and "bert" in result.stdout
    assert "46.2 MB" in result.stdout


def test_info_on_junk_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"\x00\x01garbage" * 50)
    result = findcode("model", "info", str(junk))
    assert result.returncode == 1
    assert str(junk) in result.stderr
    assert "Traceback" not in result.stderr


def test_build_into_an_empty_cache_then_reuse(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    first = findcode("model", "build", env=env)
    assert first.returncode == 0, first.stderr
    built = Path(first.stdout.split(" (")[0])
    assert built.is_file() and built.is_relative_to(tmp_path)
    assert "building" in first.stderr
    again = findcode("model", "build", env=env)
    assert again.returncode == 0
    assert "already built" in again.stdout
    info = findcode("model", "info", "minilm", "--json", env=env)
    assert json.loads(info.stdout)["path"] == str(built)


def test_build_from_a_missing_path(tmp_path: Path) -> None:
    result = findcode("model", "build", "--from", str(tmp_path / "gone.whl"))
    assert result.returncode == 1
    assert "gone.whl" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_base_model_info_before_any_build(tmp_path: Path) -> None:
    result = findcode("model", "info", "minilm", env={"XDG_CACHE_HOME": str(tmp_path)})
    assert result.returncode == 1
    assert "findcode model build" in result.stderr


def test_info_names_the_default_model_with_nothing_built(tmp_path: Path) -> None:
    """The default ships in the package: described (and usable) on a machine with no cache."""
    result = findcode("model", "info", env={"XDG_CACHE_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "findcode (the default" in result.stdout
    assert "findcode-minilm-code" in result.stdout
    info = json.loads(
        findcode("model", "info", "--json", env={"XDG_CACHE_HOME": str(tmp_path)}).stdout
    )
    assert info["model"].startswith("findcode")
    assert info["name"] == "findcode-minilm-code"
    assert Path(info["path"]).name == "findcode-minilm-code.F16.gguf"
    assert not any(tmp_path.iterdir())  # nothing was built or cached for it


def test_info_on_an_unknown_model_name(tmp_path: Path) -> None:
    result = findcode("model", "info", "codebert")
    assert result.returncode == 1
    assert "codebert" in result.stderr and "findcode, minilm" in result.stderr
    assert "Traceback" not in result.stderr
