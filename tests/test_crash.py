"""kill -9 of a real `findcode index` process at random moments never costs the index anything.

Each run adds (and sometimes edits or deletes) generated source files so every process has
parsing and embedding to do, then kills it after a random delay. After every kill the index
must open and answer; after the last one a resumed `findcode index` must finish with exactly
the symbols a clean index of the same tree has.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from findcode.config import Settings
from findcode.engine import Engine
from findcode.roots import index_dir_for
from findcode.store import Store
from index_support import copy_repo

RUNS = 22
FUNCTIONS_PER_FILE = 16
VERBS = ["parse", "merge", "render", "sort", "encode", "validate", "compress", "schedule"]
NOUNS = ["invoice", "token", "matrix", "packet", "session", "ledger", "config", "thumbnail"]


def generated_module(rng: random.Random, tag: str) -> str:
    parts = [f'"""Generated module {tag}."""\n']
    for n in range(FUNCTIONS_PER_FILE):
        verb, noun = rng.choice(VERBS), rng.choice(NOUNS)
        constant = rng.randint(0, 10**9)
        parts.append(
            f"\n\ndef {verb}_{noun}_{tag}_{n}(items):\n"
            f'    """{verb.title()} each {noun} and fold in {constant}."""\n'
            f"    total = {constant}\n"
            f"    for item in items:\n"
            f"        total = (total * 31 + hash(item)) % {constant + 7}\n"
            f"    return total\n"
        )
    return "".join(parts)


def mutate(repo: Path, rng: random.Random, run: int) -> None:
    folder = repo / "generated"
    folder.mkdir(exist_ok=True)
    (folder / f"module_{run}.py").write_text(generated_module(rng, f"r{run}"))
    existing = sorted(folder.glob("module_*.py"))
    if run % 3 == 1 and len(existing) > 1:
        victim = rng.choice(existing[:-1])
        victim.write_text(generated_module(rng, f"e{run}"))
    if run % 5 == 4 and len(existing) > 2:
        rng.choice(existing[:-1]).unlink()


def index_command(repo: Path, index_dir: Path) -> list[str]:
    return [sys.executable, "-m", "findcode", "index", str(repo), "--index-dir", str(index_dir)]


def test_kill_9_at_random_points_then_resume_equals_a_clean_index(tmp_path, embedder):
    repo = copy_repo(tmp_path)
    index_dir = tmp_path / "index"
    rng = random.Random(20240611)
    killed = 0
    stored = False  # an earlier run got as far as storing the repository's symbols
    for run in range(RUNS):
        mutate(repo, rng, run)
        process = subprocess.Popen(
            index_command(repo, index_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        time.sleep(rng.uniform(0.4, 1.8))
        finished = process.poll() is not None  # indexed everything before the kill came
        if not finished:
            killed += 1
            process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode in (0, -signal.SIGKILL), process.stderr.read().decode()
        process.stderr.close()
        # The index opens and answers right after the kill.
        if (index_dir_for(repo, index_dir) / "index.sqlite3").exists():
            engine = Engine([repo], Settings(index_dir=index_dir), embedder=embedder)
            engine.start()
            try:
                outcome = engine.search("retry a failed http request", limit=5)
                assert outcome.took_ms >= 0
                # On a loaded machine the first few processes may die before storing anything;
                # a finished run has stored the repository's symbols, and no later kill may lose
                # what one has stored.
                found = bool(engine.search("levenshtein", mode="lexical").hits)
                assert found or not finished, f"run {run}: finished without the symbols"
                assert found or not stored, f"run {run}: a kill lost symbols stored before"
                stored = found
            finally:
                engine.close()
    assert killed >= RUNS // 2, f"only {killed} of {RUNS} processes were killed mid-way"

    finished = subprocess.run(index_command(repo, index_dir), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    clean_dir = tmp_path / "clean"
    clean = subprocess.run(index_command(repo, clean_dir), capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr

    resumed_store = Store(index_dir_for(repo, index_dir), create=False)
    clean_store = Store(index_dir_for(repo, clean_dir), create=False)
    try:
        assert resumed_store.all_symbol_keys() == clean_store.all_symbol_keys()
        key = clean_store.meta("embed_key") or ""
        assert resumed_store.counts(key)["pending"] == 0
        assert resumed_store.counts(key)["symbols"] == clean_store.counts(key)["symbols"]
    finally:
        resumed_store.close()
        clean_store.close()

    engine = Engine([repo], Settings(index_dir=index_dir), embedder=embedder)
    engine.start()
    try:
        assert engine.wait_idle(60)
        assert engine.embedded_count == 0
        (index,) = engine._worker.roots()
        assert len(index.vectors) == engine.status()["symbols"]
        hits = engine.search("retry", limit=3).hits
        assert "fetch_with_retry" in [hit.qualified_name for hit in hits]
    finally:
        engine.close()
