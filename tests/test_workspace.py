"""workspace.walk / read_source / is_excluded on real files, including every kind of bad input."""

from __future__ import annotations

import base64
import json
import os
import random
import tempfile
from pathlib import Path

import pytest
from findcode.config import Settings
from findcode.errors import FindcodeError, QueryError
from findcode.roots import index_dir_for
from findcode.search import path_spec
from findcode.symbols import extract_symbols
from findcode.workspace import (
    SkipFile,
    check_root,
    compile_globs,
    holds_secret,
    inside_root,
    is_excluded,
    is_test_path,
    read_source,
    walk,
)

SETTINGS = Settings()


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def rels(root: Path, settings: Settings = SETTINGS) -> list[str]:
    return [f.rel for f in walk([root], settings).files]


def test_walk_lists_source_files_with_metadata(tmp_path: Path) -> None:
    write(tmp_path / "a.py", "def a():\n    pass\n")
    write(tmp_path / "pkg" / "b.go", "package pkg\n")
    result = walk([tmp_path], SETTINGS)
    assert [f.rel for f in result.files] == ["a.py", "pkg/b.go"]
    first = result.files[0]
    assert first.root == tmp_path.resolve()
    assert first.path == tmp_path.resolve() / "a.py"
    assert first.size == len("def a():\n    pass\n")
    assert first.mtime_ns == (tmp_path / "a.py").stat().st_mtime_ns
    assert not result.skipped


def test_builtin_excludes(tmp_path: Path) -> None:
    write(tmp_path / "keep.py", "x = 1\n")
    for name in (
        ".git/config",
        "node_modules/lib/index.js",
        "__pycache__/keep.cpython-311.pyc",
        "build/out.py",
        "dist/bundle.js",
        "target/debug/main.rs",
        "app.min.js",
        "yarn.lock",
        "package-lock.json",
        "env2/lib/site.py",
        ".env",
        "certs/server.pem",
    ):
        write(tmp_path / name, "x = 1\n")
    write(tmp_path / "env2" / "pyvenv.cfg", "home = /usr\n")  # a venv under any name
    result = walk([tmp_path], SETTINGS)
    assert [f.rel for f in result.files] == ["keep.py"]
    assert result.skipped == {"ignored": 10, "secret": 2}  # .env and the .pem are secrets
    assert is_excluded(tmp_path, tmp_path / "env2" / "lib" / "site.py", SETTINGS)
    assert not is_excluded(tmp_path, tmp_path / "keep.py", SETTINGS)


def test_gitignore_nested_and_negated(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "*.log\ngenerated/\n")
    write(tmp_path / "main.py", "x = 1\n")
    write(tmp_path / "debug.log", "noise\n")
    write(tmp_path / "generated" / "g.py", "x = 1\n")
    write(tmp_path / "sub" / ".gitignore", "secret.py\n!important.log\n")
    write(tmp_path / "sub" / "secret.py", "x = 1\n")
    write(tmp_path / "sub" / "ok.py", "x = 1\n")
    write(tmp_path / "sub" / "important.log", "kept by the nested negation\n")
    write(tmp_path / "other" / "secret.py", "x = 1\n")  # the nested rule stays in sub/
    assert rels(tmp_path) == [
        ".gitignore",
        "main.py",
        "other/secret.py",
        "sub/.gitignore",
        "sub/important.log",
        "sub/ok.py",
    ]
    settings = SETTINGS
    assert is_excluded(tmp_path, tmp_path / "sub" / "secret.py", settings)
    assert is_excluded(tmp_path, tmp_path / "generated" / "g.py", settings)
    assert is_excluded(tmp_path, tmp_path / "debug.log", settings)
    assert not is_excluded(tmp_path, tmp_path / "sub" / "important.log", settings)
    assert not is_excluded(tmp_path, tmp_path / "other" / "secret.py", settings)
    assert is_excluded(tmp_path, tmp_path / "node_modules" / "x.js", settings)
    assert is_excluded(tmp_path, Path("/elsewhere/x.py"), settings)


def test_an_edited_gitignore_counts_at_once(tmp_path: Path) -> None:
    ignore = write(tmp_path / ".gitignore", "*.log\n")
    write(tmp_path / "gen.py", "x = 1\n")
    assert not is_excluded(tmp_path, tmp_path / "gen.py", SETTINGS)
    stat = ignore.stat()
    ignore.write_text("gen.*\n", encoding="utf-8")  # same size: only the mtime tells
    os.utime(ignore, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert is_excluded(tmp_path, tmp_path / "gen.py", SETTINGS)
    assert rels(tmp_path) == [".gitignore"]
    ignore.unlink()
    assert not is_excluded(tmp_path, tmp_path / "gen.py", SETTINGS)


def test_user_excludes_and_languages(tmp_path: Path) -> None:
    write(tmp_path / "src" / "a.py", "x = 1\n")
    write(tmp_path / "src" / "b.rs", "fn b() {}\n")
    write(tmp_path / "docs" / "guide.md", "# Guide\n")
    write(tmp_path / "vendor" / "v.py", "x = 1\n")
    settings = Settings(exclude=("vendor/", "*.md"))
    assert rels(tmp_path, settings) == ["src/a.py", "src/b.rs"]
    assert is_excluded(tmp_path, tmp_path / "vendor" / "v.py", settings)
    only_rust = Settings(languages=("rust",))
    result = walk([tmp_path], only_rust)
    assert [f.rel for f in result.files] == ["src/b.rs"]
    assert result.skipped["language"] == 3
    assert is_excluded(tmp_path, tmp_path / "src" / "a.py", only_rust)


def test_binary_huge_and_minified_are_counted(tmp_path: Path) -> None:
    write(tmp_path / "ok.js", "function ok() { return 1; }\n")
    write(tmp_path / "image.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(100))
    write(tmp_path / "huge.py", "x = 1\n" * 200_000)
    write(tmp_path / "bundle.js", "var a=1;" * 2000)  # one 16 KB line, not named .min.js
    result = walk([tmp_path], SETTINGS)
    assert [f.rel for f in result.files] == ["ok.js"]
    assert result.skipped == {"binary": 1, "too_large": 1, "minified": 1}
    with pytest.raises(SkipFile) as binary:
        read_source(tmp_path / "image.png", 1_000_000)
    assert binary.value.reason == "binary"
    with pytest.raises(SkipFile) as huge:
        read_source(tmp_path / "huge.py", 1_000_000)
    assert huge.value.reason == "too_large"
    with pytest.raises(SkipFile) as minified:
        read_source(tmp_path / "bundle.js", 1_000_000)
    assert minified.value.reason == "minified"
    small_limit = walk([tmp_path], Settings(max_file_bytes=10))
    assert small_limit.skipped == {"too_large": 4}


def test_invalid_utf8_keeps_line_numbers(tmp_path: Path) -> None:
    source = b"# caf\xe9 \xff\xfe broken\n\ndef after_bad_bytes():\n    return '\xc3('\n"
    path = write(tmp_path / "latin.py", source)
    text = read_source(path, 1_000_000)
    assert "\ufffd" in text
    assert text.count("\n") == source.count(b"\n")
    [symbol] = extract_symbols("latin.py", text)
    assert (symbol.qualified_name, symbol.start_line, symbol.end_line) == ("after_bad_bytes", 3, 4)


def test_crlf_keeps_line_numbers_and_text(tmp_path: Path) -> None:
    path = write(tmp_path / "win.py", b"import os\r\n\r\ndef f():\r\n    return 1\r\n")
    text = read_source(path, 1_000_000)
    assert "\r\n" in text  # nothing normalised
    [symbol] = extract_symbols("win.py", text)
    assert (symbol.start_line, symbol.end_line, symbol.signature) == (3, 4, "def f():")


def test_empty_file_is_listed_and_yields_no_symbols(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.py", "")
    assert rels(tmp_path) == ["empty.py"]
    assert read_source(path, 1_000_000) == ""
    assert extract_symbols("empty.py", "") == []


def test_syntax_errors_keep_the_intact_functions(tmp_path: Path) -> None:
    source = (
        "def good_one(a):\n"
        "    return a + 1\n"
        "\n"
        "def broken(:\n"
        "    return )\n"
        "\n"
        "def good_two(b):\n"
        "    return b * 2\n"
    )
    path = write(tmp_path / "broken.py", source)
    symbols = extract_symbols("broken.py", read_source(path, 1_000_000))
    found = {(s.qualified_name, s.start_line, s.end_line) for s in symbols}
    assert {("good_one", 1, 2), ("good_two", 7, 8)} <= found


def test_symlink_loop_and_outside_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "pkg" / "mod.py", "x = 1\n")
    (root / "pkg" / "again").symlink_to(root, target_is_directory=True)
    outside = write(tmp_path / "outside" / "secret.py", "x = 1\n")
    (root / "leak.py").symlink_to(outside)
    (root / "leakdir").symlink_to(outside.parent, target_is_directory=True)
    (root / "alias.py").symlink_to(root / "pkg" / "mod.py")  # inside the root: fine
    (root / "dangling.py").symlink_to(root / "gone.py")
    result = walk([root], SETTINGS)
    assert [f.rel for f in result.files] == ["alias.py", "pkg/mod.py"]
    assert result.skipped == {"symlink_loop": 1, "symlink_outside": 2, "vanished": 1}


def test_file_deleted_between_walk_and_read(tmp_path: Path) -> None:
    write(tmp_path / "soon_gone.py", "x = 1\n")
    [entry] = walk([tmp_path], SETTINGS).files
    entry.path.unlink()
    with pytest.raises(SkipFile) as gone:
        read_source(entry.path, 1_000_000)
    assert gone.value.reason == "vanished"


def test_directory_and_fifo_are_unreadable_not_a_hang(tmp_path: Path) -> None:
    (tmp_path / "looks_like.py").mkdir()
    with pytest.raises(SkipFile) as directory:
        read_source(tmp_path / "looks_like.py", 1_000_000)
    assert directory.value.reason == "unreadable"
    os.mkfifo(tmp_path / "pipe.py")
    with pytest.raises(SkipFile) as fifo:
        read_source(tmp_path / "pipe.py", 1_000_000)
    assert fifo.value.reason == "unreadable"
    result = walk([tmp_path / "pipe.py"], SETTINGS)
    assert result.files == []


def _as_unprivileged(task) -> dict:
    """Run `task` in a child that cannot read mode-000 files: as root, drop to nobody."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            payload = json.dumps(task()).encode()
            os.write(write_end, payload)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        data = stream.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def test_permission_denied_file_is_counted_not_fatal() -> None:
    # /tmp itself (not pytest's 0700 tmp_path) so the unprivileged child can reach the folder.
    root = Path(tempfile.mkdtemp(prefix="findcode-perm-"))
    try:
        root.chmod(0o755)
        write(root / "open.py", "x = 1\n").chmod(0o644)
        locked = write(root / "locked.py", "x = 1\n")
        locked.chmod(0o000)

        def task() -> dict:
            result = walk([root], SETTINGS)
            try:
                read_source(locked, 1_000_000)
                reason = None
            except SkipFile as error:
                reason = error.reason
            return {"files": [f.rel for f in result.files], "skipped": result.skipped, "r": reason}

        outcome = _as_unprivileged(task)
        assert outcome == {"files": ["open.py"], "skipped": {"unreadable": 1}, "r": "unreadable"}
    finally:
        for child in root.iterdir():
            child.unlink()
        root.rmdir()


def test_several_roots_and_missing_root(tmp_path: Path) -> None:
    write(tmp_path / "one" / "a.py", "x = 1\n")
    write(tmp_path / "two" / "b.py", "x = 1\n")
    result = walk([tmp_path / "one", tmp_path / "two", tmp_path / "missing"], SETTINGS)
    assert [(f.root.name, f.rel) for f in result.files] == [("one", "a.py"), ("two", "b.py")]
    assert result.skipped["unreadable"] == 1


def test_a_gitignore_line_that_does_not_compile_costs_that_line_only(tmp_path: Path) -> None:
    # git accepts `[z-a]` (it matches nothing); pathspec's regex compiler raises re.error.
    write(tmp_path / ".gitignore", "*.log\n[z-a]\n")
    write(tmp_path / "sub" / ".gitignore", "# nested\n[z-a]\nsecret.py\n")
    write(tmp_path / "main.py", "x = 1\n")
    write(tmp_path / "debug.log", "noise\n")
    write(tmp_path / "sub" / "secret.py", "x = 1\n")
    write(tmp_path / "sub" / "ok.py", "x = 1\n")
    result = walk([tmp_path], SETTINGS)
    assert [f.rel for f in result.files] == [".gitignore", "main.py", "sub/.gitignore", "sub/ok.py"]
    assert result.warnings == [
        f"{tmp_path / '.gitignore'}:2: cannot use the pattern '[z-a]' "
        "(bad character range z-a); it is skipped",
        f"{tmp_path / 'sub' / '.gitignore'}:2: cannot use the pattern '[z-a]' "
        "(bad character range z-a); it is skipped",
    ]
    assert is_excluded(tmp_path, tmp_path / "sub" / "secret.py", SETTINGS)
    assert is_excluded(tmp_path, tmp_path / "debug.log", SETTINGS)
    assert not is_excluded(tmp_path, tmp_path / "sub" / "ok.py", SETTINGS)


def test_a_bad_exclude_glob_is_skipped_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path / "a.py", "x = 1\n")
    write(tmp_path / "vendor" / "v.py", "x = 1\n")
    settings = Settings(exclude=("[z-a]", "vendor/", "!"))
    result = walk([tmp_path, tmp_path], settings)
    assert [f.rel for f in result.files] == ["a.py", "a.py"]
    assert result.warnings == [  # once, though two roots were walked
        "exclude glob '[z-a]' cannot be used (bad character range z-a); it is skipped",
        "exclude glob '!' cannot be used (Invalid git pattern: '!'); it is skipped",
    ]
    assert is_excluded(tmp_path, tmp_path / "vendor" / "v.py", settings)
    assert not is_excluded(tmp_path, tmp_path / "a.py", settings)


def test_bad_search_path_globs_are_a_query_error() -> None:
    spec, bad = compile_globs(["src/", "[z-a]", 7])  # type: ignore[list-item]
    assert spec.match_file("src/a.py") and not spec.match_file("lib/a.py")
    assert [(b.line, b.pattern, b.reason) for b in bad] == [
        (2, "[z-a]", "bad character range z-a"),
        (3, "7", "not a string"),
    ]
    with pytest.raises(QueryError, match=r"bad path glob '\[z-a\]': bad character range z-a"):
        path_spec(("src/", "[z-a]"))


SECRET_FILES = [
    "id_rsa",
    "keys/id_ed25519",
    "id_ecdsa",
    "id_dsa",
    ".npmrc",
    ".pypirc",
    ".netrc",
    ".git-credentials",
    "home/.docker/config.json",
    ".aws/credentials",
    ".pgpass",
    ".htpasswd",
    ".kube/config",
    ".vault-token",
    "credentials.json",
    "service-account.json",
    "service-account-prod.json",
    "client_secret_1234.apps.googleusercontent.com.json",
    "cert.p12",
    "cert.pfx",
    "store.jks",
    "private.asc",
    "config/secrets.yml",
    "secrets.yaml",
    "prod.tfvars",
    "terraform.tfstate",
    "terraform.tfstate.backup",
    ".bash_history",
    ".zsh_history",
    ".envrc",
    "prod.env",
    ".env",
    ".env.local",
    "server.pem",
    "server.key",
]


@pytest.mark.parametrize("rel", SECRET_FILES)
def test_secret_files_are_skipped_by_name(tmp_path: Path, rel: str) -> None:
    write(tmp_path / rel, "nothing that looks like a key\n")
    write(tmp_path / "app.py", "x = 1\n")
    result = walk([tmp_path], SETTINGS)
    assert [f.rel for f in result.files] == ["app.py"]
    assert result.skipped == {"secret": 1}
    assert is_excluded(tmp_path, tmp_path / rel, SETTINGS)


def test_public_keys_and_code_named_like_secrets_are_kept(tmp_path: Path) -> None:
    # A public key is made to be shared; Python's own secrets.py is code.
    for rel in ("id_rsa.pub", "secrets.py", "env.py", "docker/config.json", "credentials.py"):
        write(tmp_path / rel, "x = 1\n")
    assert rels(tmp_path) == [
        "credentials.py",
        "docker/config.json",
        "env.py",
        "id_rsa.pub",
        "secrets.py",
    ]


def _fake_base64(lines: int, width: int = 64) -> str:
    body = base64.b64encode(random.Random(lines * width).randbytes(lines * width)).decode()
    return "\n".join(body[i : i + width] for i in range(0, lines * width, width))


# Built at run time, so this file holds no string a scanner would take for a secret.
BEGIN, END = "-----BEGIN ", "-----END "
SECRET_TEXTS = {
    "openssh": f"{BEGIN}OPENSSH PRIVATE KEY-----\n{_fake_base64(5, 70)}\n"
    f"{END}OPENSSH PRIVATE KEY-----\n",
    "rsa_encrypted": f"{BEGIN}RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
    f"DEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\n{_fake_base64(4)}\n{END}RSA PRIVATE KEY-----\n",
    "pgp": f"{BEGIN}PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n{_fake_base64(4)}\n",
    "json_pkcs8": '{"type": "service_account", "private_key": "'
    + f"{BEGIN}PRIVATE KEY-----\\n"
    + _fake_base64(3).replace("\n", "\\n")
    + '"}',
    "python_string": f'KEY = (\n    "{BEGIN}EC PRIVATE KEY-----\\n"\n    "{_fake_base64(1)}"\n)\n',
    "aws": "aws_access_key_id = " + "AKIA" + "Q3ZK7XW2MB4NPL5R\n",
    "github": "token: " + "ghp" + "_" + "aB3dE5fG7h" * 3 + "J9kL1m\n",
    "github_pat": "github" + "_pat_" + "11ABCDEFG0" + "x" * 72 + "\n",
    "slack": "SLACK = '" + "xoxb" + "-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'\n",
    "stripe": "stripe.api_key = '" + "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc" + "'\n",
    "google": "key=" + "AIza" + "SyD-9tSrke72PouQ" + "MnMX-a7eZSW0jkFMBWY\n",
    "openai": "OPENAI_API_KEY=" + "sk-" + "proj-abc123" + "T3Blbk" + "FJ" + "q" * 30 + "\n",
}


@pytest.mark.parametrize("kind", sorted(SECRET_TEXTS))
def test_files_holding_a_key_or_token_are_skipped_by_content(tmp_path: Path, kind: str) -> None:
    # Anywhere in the file; the read decides (the walk reads only heads, and every file at
    # every scan).
    code = "".join(f"def function_{i}():\n    return {i}\n\n" for i in range(1000))
    path = write(tmp_path / "notes" / "setup.py", code + SECRET_TEXTS[kind] + code)
    with pytest.raises(SkipFile) as skipped:
        read_source(path, 1_000_000)
    assert skipped.value.reason == "secret"
    assert holds_secret(SECRET_TEXTS[kind].encode())


def test_code_that_only_names_a_secret_format_is_indexed(tmp_path: Path) -> None:
    code = (
        "PEM_HEADER = b'" + BEGIN + "RSA PRIVATE KEY-----'\n"
        "def is_private_key(data: bytes) -> bool:\n"
        "    return data.startswith(PEM_HEADER) or data.startswith(b'ghp_')\n"
        "# AWS documents this sample id: " + "AKIA" + "IOSFODNN7EXAMPLE\n"
        "PREFIXES = ('sk_live_', 'xoxb-', 'AIza', 'sk-', 'npm_', 'glpat-')\n"
        "AbstractSingletonProxyFactoryBeanProviderFactoryRegistry = None\n"
    )
    assert not holds_secret(code.encode())
    assert read_source(write(tmp_path / "keys.py", code), 1_000_000) == code


def test_names_that_are_not_utf8_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "good.py", "x = 1\n")
    root = os.fsencode(tmp_path)
    fd = os.open(root + b"/caf\xe9.py", os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b"def latin1_name():\n    pass\n")
    os.close(fd)
    os.mkdir(root + b"/dir\xff")
    write(Path(os.fsdecode(root + b"/dir\xff/inner.py")), "x = 1\n")
    result = walk([tmp_path], SETTINGS)
    assert [f.rel for f in result.files] == ["good.py"]
    assert result.skipped == {"name_not_utf8": 2}
    assert is_excluded(tmp_path, Path(os.fsdecode(root + b"/caf\xe9.py")), SETTINGS)
    assert is_excluded(tmp_path, Path(os.fsdecode(root + b"/dir\xff/inner.py")), SETTINGS)


def test_links_out_of_the_root_are_excluded_on_their_resolved_path(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "inside.py", "x = 1\n")
    outside = write(tmp_path / "outside" / "secret.py", "x = 1\n")
    (root / "leak.py").symlink_to(outside)
    (root / "leakdir").symlink_to(outside.parent, target_is_directory=True)
    (root / "alias.py").symlink_to(root / "inside.py")
    (root / "loop.py").symlink_to(root / "loop.py")
    for name in ("leak.py", "leakdir/secret.py", "loop.py"):
        assert is_excluded(root, root / name, SETTINGS), name
        assert not inside_root(root.resolve(), root / name), name
    assert not is_excluded(root, root / "alias.py", SETTINGS)
    assert inside_root(root.resolve(), root / "alias.py")
    assert walk([root], SETTINGS).skipped == {"symlink_outside": 2, "symlink_loop": 1}


def test_the_index_folder_inside_a_root_is_never_walked(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "x = 1\n")
    write(tmp_path / ".findcode" / "repo-1234" / "vectors.json", '{"generation": 3}\n')
    settings = Settings(index_dir=tmp_path / ".findcode")
    result = walk([tmp_path], settings)
    assert [f.rel for f in result.files] == ["app.py"]
    assert result.skipped == {"ignored": 1}
    assert is_excluded(tmp_path, tmp_path / ".findcode" / "repo-1234" / "vectors.json", settings)
    assert rels(tmp_path) == [".findcode/repo-1234/vectors.json", "app.py"]  # another index_dir
    # `--index-dir .`: the root is the base, and this root's own index folder lies in it.
    own = index_dir_for(tmp_path, tmp_path)
    write(own / "vectors.json", '{"generation": 1}\n')
    result = walk([tmp_path], Settings(index_dir=tmp_path))
    assert [f.rel for f in result.files] == [".findcode/repo-1234/vectors.json", "app.py"]
    assert is_excluded(tmp_path, own / "vectors.json", Settings(index_dir=tmp_path))


def test_a_root_must_be_a_folder(tmp_path: Path) -> None:
    file_root = write(tmp_path / "one.py", "x = 1\n")
    with pytest.raises(FindcodeError, match=r"one\.py is a file, not a folder"):
        check_root(file_root)
    check_root(tmp_path)
    check_root(tmp_path / "missing")  # the walk counts a missing root as unreadable


@pytest.mark.parametrize(
    ("rel", "expected"),
    [("", False), (".", False), ("tests/a.py", True), ("src/test_a.py", True), ("a.py", False)],
)
def test_is_test_path_takes_any_relative_path(rel: str, expected: bool) -> None:
    assert is_test_path(rel) is expected
