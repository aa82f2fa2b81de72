"""One frozen settings object shared by the CLI, the engine and the Language Server.

Options arrive as camelCase mappings (LSP initializationOptions, workspace/configuration) or
as CLI flags. Bad or unknown options never crash anything: they produce a warning for the
user and the default value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEARCH_MODES = ("hybrid", "semantic", "lexical")


@dataclass(frozen=True, slots=True)
class SearchDefaults:
    limit: int = 20
    mode: str = "hybrid"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a user can set. Defaults are what a newcomer should get."""

    model: str | None = None  # path to a GGUF embedding model; None: the default built model
    index_dir: Path | None = None  # None: one folder per root under the user cache directory
    exclude: tuple[str, ...] = ()  # gitignore-style globs, added to the built-in excludes
    languages: tuple[str, ...] | None = None  # None: every supported language
    max_file_bytes: int = 1_000_000
    watch: bool = True
    threads: int | None = None  # embedding threads; None: all cores
    search_defaults: SearchDefaults = field(default_factory=SearchDefaults)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


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


def _search_defaults(value: Any) -> SearchDefaults:
    if not isinstance(value, Mapping):
        raise TypeError("expected an object with limit and mode")
    defaults = SearchDefaults()
    limit = _positive_int(value.get("limit", defaults.limit))
    mode = value.get("mode", defaults.mode)
    if mode not in SEARCH_MODES:
        raise TypeError(f"mode must be one of {', '.join(SEARCH_MODES)}")
    return SearchDefaults(limit=limit, mode=mode)


# camelCase option name -> (Settings field, parser)
_OPTIONS = {
    "model": ("model", _optional_str),
    "indexDir": ("index_dir", lambda v: None if _optional_str(v) is None else Path(v)),
    "exclude": ("exclude", _as_str_tuple),
    "languages": ("languages", lambda v: None if v is None else _as_str_tuple(v)),
    "maxFileBytes": ("max_file_bytes", _positive_int),
    "watch": ("watch", _bool),
    "threads": ("threads", lambda v: None if v is None else _positive_int(v)),
    "searchDefaults": ("search_defaults", _search_defaults),
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
    changes: dict[str, Any] = {}
    for key, value in options.items():
        if key not in _OPTIONS:
            warnings.append(f"unknown findcode option {key!r} ignored")
            continue
        name, parse = _OPTIONS[key]
        try:
            changes[name] = parse(value)
        except (TypeError, ValueError) as error:
            warnings.append(f"findcode option {key!r}: {error}; using the default")
    return settings.replace(**changes), warnings
