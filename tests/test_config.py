"""Settings parsing: every bad option is one warning and its default (or its valid part).

Fast unit tests of config.py; tests/lsp checks that the warnings reach the client.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from findcode.config import (
    MAX_FILE_BYTES_LIMIT,
    MAX_THREADS,
    OPTION_NAMES,
    EmbeddingSettings,
    SearchDefaults,
    Settings,
    settings_from_options,
)


def test_no_options_are_the_defaults():
    assert settings_from_options(None) == (Settings(), [])
    assert settings_from_options({}) == (Settings(), [])


def test_every_option_parsed_from_camel_case():
    settings, warnings = settings_from_options(
        {
            "model": "/models/x.gguf",
            "indexDir": "/tmp/idx",
            "cacheDir": "/mnt/ci/findcode-cache",
            "exclude": ["*.md", "docs/"],
            "languages": ["python", "go", "text"],
            "maxFileBytes": 2_000_000,
            "watch": False,
            "threads": 1,
            "searchDefaults": {"limit": 5, "mode": "lexical"},
            "lowPriority": False,
            "pauseOnBattery": True,
        }
    )
    assert warnings == []
    assert settings == Settings(
        model="/models/x.gguf",
        index_dir=Path("/tmp/idx"),
        cache_dir=Path("/mnt/ci/findcode-cache"),
        exclude=("*.md", "docs/"),
        languages=("python", "go", "text"),
        max_file_bytes=2_000_000,
        watch=False,
        threads=1,
        search_defaults=SearchDefaults(limit=5, mode="lexical"),
        low_priority=False,
        pause_on_battery=True,
    )
    assert set(OPTION_NAMES) == {
        "model",
        "indexDir",
        "cacheDir",
        "exclude",
        "languages",
        "maxFileBytes",
        "watch",
        "threads",
        "searchDefaults",
        "lowPriority",
        "pauseOnBattery",
        "embedding",
    }


def test_options_apply_over_a_base():
    base = Settings(languages=("python",), watch=False)
    settings, warnings = settings_from_options({"threads": 1}, base)
    assert warnings == []
    assert settings == base.replace(threads=1)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"maxFileBytes": "big"}, ["maxFileBytes", "positive integer"]),
        ({"maxFileBytes": 0}, ["maxFileBytes"]),
        ({"maxFileBytes": True}, ["maxFileBytes"]),
        ({"maxFileBytes": 10**15}, ["maxFileBytes", str(MAX_FILE_BYTES_LIMIT)]),
        ({"threads": 1_000_000}, ["threads", f"at most {MAX_THREADS}"]),
        ({"threads": -1}, ["threads"]),
        ({"watch": "yes"}, ["watch", "true or false"]),
        ({"pauseOnBattery": "yes"}, ["pauseOnBattery", "true or false"]),
        ({"lowPriority": 0}, ["lowPriority", "true or false"]),
        ({"exclude": "*.md"}, ["exclude", "list of strings"]),
        ({"languages": [1]}, ["languages", "list of strings"]),
        ({"languages": ["cobol"]}, ["languages", "cobol", "python", "nothing would be indexed"]),
        ({"searchDefaults": {"mode": "fuzzy"}}, ["searchDefaults", "mode"]),
        ({"searchDefaults": 3}, ["searchDefaults"]),
        ({"model": 3}, ["model", "string"]),
        ({"colour": "blue"}, ["colour", "unknown"]),
    ],
)
def test_a_bad_option_warns_and_keeps_the_default(options, words):
    settings, warnings = settings_from_options(options)
    assert settings == Settings()
    assert len(warnings) == 1
    assert all(word in warnings[0] for word in words), warnings[0]


def test_unknown_languages_are_dropped_and_the_known_kept():
    settings, warnings = settings_from_options({"languages": ["python", "cobol", "fortran"]})
    assert settings.languages == ("python",)
    assert len(warnings) == 1
    assert "'cobol', 'fortran'" in warnings[0] and "ignored" in warnings[0]


def test_a_glob_that_cannot_compile_is_dropped_and_the_rest_kept():
    settings, warnings = settings_from_options({"exclude": ["*.md", "[z-a]", "docs/"]})
    assert settings.exclude == ("*.md", "docs/")
    assert len(warnings) == 1
    assert "'[z-a]'" in warnings[0] and "ignored" in warnings[0]


def test_the_limits_themselves_are_accepted():
    settings, warnings = settings_from_options(
        {"threads": MAX_THREADS, "maxFileBytes": MAX_FILE_BYTES_LIMIT}
    )
    assert warnings == []
    assert (settings.threads, settings.max_file_bytes) == (MAX_THREADS, MAX_FILE_BYTES_LIMIT)


def test_null_means_the_default_where_a_default_is_none():
    settings, warnings = settings_from_options(
        {"model": None, "indexDir": "", "languages": None, "threads": None},
        Settings(model="m.gguf", threads=1, languages=("go",)),
    )
    assert warnings == []
    assert (settings.model, settings.index_dir, settings.languages, settings.threads) == (
        None,
        None,
        None,
        None,
    )


def test_good_options_survive_bad_neighbours():
    settings, warnings = settings_from_options({"watch": False, "threads": "many", "x": 1})
    assert settings == Settings(watch=False)
    assert len(warnings) == 2


@pytest.mark.parametrize("options", [[], "languages", 3])
def test_options_that_are_not_an_object(options):
    settings, warnings = settings_from_options(options)  # type: ignore[arg-type]
    assert settings == Settings()
    assert warnings == ["findcode options must be an object; using the defaults"]


def test_the_embedding_server_object_from_camel_case():
    settings, warnings = settings_from_options(
        {
            "embedding": {
                "url": "http://gpu-box:8000/v1/",
                "model": "Qwen/Qwen3-Embedding-0.6B",
                "apiKeyEnv": "FINDCODE_EMBEDDING_KEY",
                "dimensions": 1024,
                "batchSize": 64,
                "concurrency": 4,
                "timeoutS": 2.5,
                "retries": 0,
                "profile": "qwen3-embedding",
            }
        }
    )
    assert warnings == []
    assert settings.embedding == EmbeddingSettings(
        url="http://gpu-box:8000/v1",  # one form, so a trailing slash is no new server
        model="Qwen/Qwen3-Embedding-0.6B",
        api_key_env="FINDCODE_EMBEDDING_KEY",
        dimensions=1024,
        batch_size=64,
        concurrency=4,
        timeout_s=2.5,
        retries=0,
        profile="qwen3-embedding",
    )
    assert settings_from_options({"embedding": None})[0].embedding == EmbeddingSettings()


def test_bad_embedding_keys_fall_back_one_by_one():
    settings, warnings = settings_from_options(
        {
            "embedding": {
                "url": "http://h:8000/v1",
                "model": "m",
                "dimensions": 0,
                "concurrency": 1000,
                "timeoutS": "soon",
                "profile": "bert",
                "apiKey": "sk-123",
                "apiKeyEnv": "not a name",
            }
        }
    )
    assert (settings.embedding.url, settings.embedding.model) == ("http://h:8000/v1", "m")
    assert settings.embedding.dimensions is None and settings.embedding.concurrency == 2
    assert settings.embedding.timeout_s == 30.0 and settings.embedding.profile == "auto"
    assert settings.embedding.api_key_env is None
    (warning,) = warnings
    for words in ("dimensions", "concurrency", "timeoutS", "profile", "'apiKey'", "apiKeyEnv"):
        assert words in warning
    assert "sk-123" not in warning  # a key pasted into the settings is not repeated


@pytest.mark.parametrize(
    ("embedding", "problem"),
    [
        ({"url": "ftp://h/v1", "model": "m"}, "http:// or https://"),
        ({"url": "http://user:pw@h/v1", "model": "m"}, "must not hold credentials"),
        ({"url": "ftp://user:pw@h/v1", "model": "m"}, "must not hold credentials"),
        ({"url": "http://h/v1"}, "url needs model"),
        ("http://h/v1", "expected an object"),
    ],
)
def test_an_unusable_server_means_the_local_model(embedding, problem):
    settings, warnings = settings_from_options({"embedding": embedding})
    assert settings.embedding.url is None
    assert len(warnings) == 1 and problem in warnings[0]
    assert "pw" not in warnings[0]


def test_the_local_model_setting_is_ignored_beside_a_server():
    settings, warnings = settings_from_options(
        {"model": "/m.gguf", "embedding": {"url": "http://h/v1", "model": "nomic-embed"}}
    )
    assert settings.embedding.url == "http://h/v1"
    assert warnings == [
        "findcode option 'model' is ignored: embedding.url is set, so the server's "
        "'nomic-embed' embeds"
    ]
