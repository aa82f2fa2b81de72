"""One frozen settings object shared by the CLI, the engine and the Language Server.

Options arrive as camelCase mappings (LSP initializationOptions, workspace/configuration) or
as CLI flags. Bad or unknown options never crash anything: they produce a warning for the
user and the default value. An option that would quietly empty the index or starve the machine
(only unknown languages, a glob that cannot compile, a million threads) is bad too: the user
hears about it, and gets the valid part of it or the default.
"""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEARCH_MODES = ("hybrid", "semantic", "lexical")
# No source file is this large; reading one would only cost memory (the default is 1 MB).
MAX_FILE_BYTES_LIMIT = 100_000_000
# Embedding threads past the machine's CPUs only contend for them.
MAX_THREADS = os.cpu_count() or 1
_CPUS = " (the CPUs of this machine)"


@dataclass(frozen=True, slots=True)
class SearchDefaults:
    limit: int = 20
    mode: str = "hybrid"


@dataclass(frozen=True, slots=True)
class EmbeddingSettings:
    """A serving engine's OpenAI-compatible /v1/embeddings (remote_embedder.py); no `url`: the
    local `model`. The API key is never a setting: `api_key_env` names the variable holding it,
    so no settings file or log ever contains it."""

    url: str | None = None  # e.g. http://host:8000/v1
    model: str = ""  # the model name the server knows, e.g. Qwen/Qwen3-Embedding-0.6B
    api_key_env: str | None = None
    dimensions: int | None = None  # None: the model's own, asked of the server at start
    batch_size: int = 32  # texts per request
    concurrency: int = 2  # requests in flight
    timeout_s: float = 30.0
    retries: int = 5  # per request, on 429, 5xx, timeouts and connection errors
    profile: str = "auto"  # how texts are worded: "auto" (from the model name) or a family


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a user can set. Defaults are what a newcomer should get."""

    model: str | None = None  # path to a GGUF embedding model; None: the default built model
    index_dir: Path | None = None  # None: one folder per root under the user cache directory
    # A read-only folder of vector cache files (`findcode cache export`) consulted before
    # embedding: a CI's vectors on a network drive or an unpacked artifact. None: none.
    cache_dir: Path | None = None
    exclude: tuple[str, ...] = ()  # gitignore-style globs, added to the built-in excludes
    languages: tuple[str, ...] | None = None  # None: every supported language
    max_file_bytes: int = 1_000_000
    watch: bool = True
    threads: int | None = None  # embedding threads; None: the cores other processes leave free
    # The indexer's threads at the lowest OS priority (priority.py): an editor's builds and
    # tests come first. Off only to measure the old behaviour, or on a machine left to indexing.
    low_priority: bool = True
    pause_on_battery: bool = False  # pause indexing while the machine runs on battery
    search_defaults: SearchDefaults = field(default_factory=SearchDefaults)
    embedding: EmbeddingSettings = field(default_factory=EmbeddingSettings)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


class _Partly:
    """A parsed option that kept only part of its value, and says which part it dropped."""

    def __init__(self, value: Any, problem: str) -> None:
        self.value = value
        self.problem = problem


def _as_str_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise TypeError("expected a list of strings")
    if not all(isinstance(item, str) for item in value):
        raise TypeError("expected a list of strings")
    return tuple(value)


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise TypeError("expected a positive integer")
    return value


def _at_most(most: int, unit: str) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if _positive_int(value) > most:
            raise ValueError(f"expected at most {most}{unit}, not {value}")
        return value

    return parse


def _optional_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected true or false")
    return value


def _excludes(value: Any) -> tuple[str, ...] | _Partly:
    # Imported here: workspace imports this module, and owns what a glob that compiles is.
    from findcode.workspace import compile_globs

    globs = _as_str_tuple(value)
    _, bad = compile_globs(globs)
    if not bad:
        return globs
    dropped = {glob.pattern for glob in bad}
    names = ", ".join(f"{glob.pattern!r} ({glob.reason})" for glob in bad)
    kept = tuple(glob for glob in globs if glob not in dropped)
    return _Partly(kept, f"cannot use the glob {names}; it is ignored")


def _languages(value: Any) -> tuple[str, ...] | _Partly | None:
    # Imported here: symbols loads tree-sitter, which settings alone do not need.
    from findcode.symbols import LANGUAGES

    if value is None:
        return None
    wanted = _as_str_tuple(value)
    known = (*LANGUAGES, "text")  # text: files of no supported language, in chunks
    unknown = [name for name in wanted if name not in known]
    if not unknown:
        return wanted
    valid = tuple(name for name in wanted if name in known)
    names = ", ".join(repr(name) for name in unknown)
    listing = f"findcode knows {', '.join(known)}"
    if not valid:
        raise ValueError(f"unknown language {names} ({listing}), so nothing would be indexed")
    return _Partly(valid, f"unknown language {names} ignored ({listing})")


def _search_defaults(value: Any) -> SearchDefaults:
    if not isinstance(value, Mapping):
        raise TypeError("expected an object with limit and mode")
    defaults = SearchDefaults()
    limit = _positive_int(value.get("limit", defaults.limit))
    mode = value.get("mode", defaults.mode)
    if mode not in SEARCH_MODES:
        raise TypeError(f"mode must be one of {', '.join(SEARCH_MODES)}")
    return SearchDefaults(limit=limit, mode=mode)


def _url(value: Any) -> str | None:
    url = _optional_str(value)
    if url is None:
        return None
    parts = urllib.parse.urlsplit(url)
    # Checked first: the other message quotes the URL, and a password must not reach a log.
    if parts.username or parts.password:
        raise ValueError("the URL must not hold credentials; name a variable in apiKeyEnv")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, not {url!r}")
    return url.rstrip("/")


def _env_name(value: Any) -> str | None:
    name = _optional_str(value)
    if name is not None and not name.replace("_", "a").isalnum():
        raise ValueError(f"expected the name of an environment variable, not {name!r}")
    return name


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 3600:
        raise TypeError("expected a number of seconds, above 0 and below 3600")
    return float(value)


def _retries(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 20:
        raise TypeError("expected a whole number from 0 to 20")
    return value


def _profile(value: Any) -> str:
    from findcode.embedding import PROFILES

    if value not in ("auto", *PROFILES):
        raise TypeError(f"expected one of auto, {', '.join(PROFILES)}")
    return str(value)


_Table = Mapping[str, tuple[str, Callable[[Any], Any]]]


def _parse_each(
    table: _Table, values: Mapping[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, str | None]]]:
    """Each camelCase key of `values` parsed alone by its `table` entry: the fields parsed, and
    (key, problem) for each key dropped or kept in part (problem None: a key `table` lacks)."""
    changes: dict[str, Any] = {}
    dropped: list[tuple[str, str | None]] = []
    for key, value in values.items():
        if key not in table:
            dropped.append((key, None))
            continue
        name, parse = table[key]
        try:
            parsed = parse(value)
        except (TypeError, ValueError) as error:
            dropped.append((key, f"{error}; using the default"))
            continue
        if isinstance(parsed, _Partly):
            dropped.append((key, parsed.problem))
            parsed = parsed.value
        changes[name] = parsed
    return changes, dropped


# camelCase key of the `embedding` object -> (EmbeddingSettings field, parser)
_EMBEDDING_OPTIONS: _Table = {
    "url": ("url", _url),
    "model": ("model", lambda v: _optional_str(v) or ""),
    "apiKeyEnv": ("api_key_env", _env_name),
    "dimensions": ("dimensions", lambda v: None if v is None else _at_most(65536, "")(v)),
    "batchSize": ("batch_size", _at_most(2048, " texts")),
    "concurrency": ("concurrency", _at_most(64, " requests")),
    "timeoutS": ("timeout_s", _positive_number),
    "retries": ("retries", _retries),
    "profile": ("profile", _profile),
}


def _embedding(value: Any) -> EmbeddingSettings | _Partly:
    """Each bad key falls back alone; a server without a model name falls back to local."""
    if value is None:
        return EmbeddingSettings()
    if not isinstance(value, Mapping):
        raise TypeError("expected an object with url, model, ...")
    changes, dropped = _parse_each(_EMBEDDING_OPTIONS, value)
    problems = [
        f"unknown key {key!r} ignored" if p is None else f"{key}: {p}" for key, p in dropped
    ]
    if changes.get("url") and not changes.get("model"):
        problems.append("url needs model (the name the server knows); using the local model")
        changes["url"] = None
    parsed = EmbeddingSettings(**changes)
    return _Partly(parsed, "; ".join(problems)) if problems else parsed


# camelCase option name -> (Settings field, parser)
_OPTIONS = {
    "model": ("model", _optional_str),
    "indexDir": ("index_dir", lambda v: None if _optional_str(v) is None else Path(v)),
    "cacheDir": ("cache_dir", lambda v: None if _optional_str(v) is None else Path(v)),
    "exclude": ("exclude", _excludes),
    "languages": ("languages", _languages),
    "maxFileBytes": ("max_file_bytes", _at_most(MAX_FILE_BYTES_LIMIT, " bytes")),
    "watch": ("watch", _bool),
    "threads": ("threads", lambda v: None if v is None else _at_most(MAX_THREADS, _CPUS)(v)),
    "searchDefaults": ("search_defaults", _search_defaults),
    "lowPriority": ("low_priority", _bool),
    "pauseOnBattery": ("pause_on_battery", _bool),
    "embedding": ("embedding", _embedding),
}

OPTION_NAMES = tuple(_OPTIONS)


def settings_from_options(
    options: Mapping[str, Any] | None, base: Settings | None = None
) -> tuple[Settings, list[str]]:
    """Parse camelCase options over `base`; return the settings and one warning per bad option."""
    settings = base or Settings()
    warnings: list[str] = []
    if options is None:
        return settings, warnings
    if not isinstance(options, Mapping):
        return settings, ["findcode options must be an object; using the defaults"]
    changes, dropped = _parse_each(_OPTIONS, options)
    for key, problem in dropped:
        warnings.append(
            f"unknown findcode option {key!r} ignored"
            if problem is None
            else f"findcode option {key!r}: {problem}"
        )
    settings = settings.replace(**changes)
    if "model" in options and settings.model and settings.embedding.url:
        warnings.append(
            "findcode option 'model' is ignored: embedding.url is set, so the server's "
            f"{settings.embedding.model!r} embeds"
        )
    return settings, warnings
