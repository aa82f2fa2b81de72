"""The indexing bar's arithmetic: one pass, one percentage that only rises, weighed by cost.

Fed the indexer's own Progress records, as the server feeds them, for passes whose costs are
known: 400 files at 10 ms each, then 1,200 symbols at 100 ms each (3 found in each file).
"""

from __future__ import annotations

from findcode.indexer import Progress
from findcode.lsp_progress import BUSY_MAX, EMBED_S_GUESS, PassMeter

FILES, SYMBOLS, PARSE_S, EMBED_S = 400, 1200, 0.01, 0.1


def parsing(done: int) -> Progress:
    """The event before file `done` is parsed: the ones before it cost PARSE_S each."""
    return Progress("parsing", done, FILES, 0, 3 * (done - 1), 0.0, None, PARSE_S * (done - 1))


def embedding(done: int, cost: float = EMBED_S) -> Progress:
    rate = 1 / cost if done else 0.0
    return Progress("embedding", FILES, FILES, done, SYMBOLS, rate, None, PARSE_S * FILES)


def first_pass(cost: float = EMBED_S) -> list[Progress]:
    return [
        Progress("walking", 0, 0, 0, 0, 0.0, None, 0.0),
        *(parsing(done) for done in range(1, FILES + 1, 7)),
        *(embedding(done, cost) for done in range(0, SYMBOLS + 1, 16)),
    ]


def percentages(meter: PassMeter, events: list[Progress]) -> list[int]:
    return [meter.update(event).percentage for event in events]


def test_parse_and_embed_share_one_bar_in_proportion_to_their_cost():
    meter = PassMeter(started=0.0, embed_s=EMBED_S)  # an earlier pass measured the embedder
    assert meter.update(Progress("walking", 0, 0, 0, 0, 0.0, None, 0.0)).percentage == 0
    assert meter.update(parsing(1)).percentage == 0
    # Parsing is 4 s of 124: the whole parse moves the bar 3%, not 100%.
    assert meter.update(parsing(FILES)).percentage == 3
    assert meter.update(embedding(0)).percentage == 3
    assert meter.update(embedding(SYMBOLS // 2)).percentage == 51  # (4 + 60) / 124
    assert meter.update(embedding(SYMBOLS - 16)).percentage == 98


def test_the_bar_never_goes_back_nor_fills_before_the_pass_ends():
    # The guessed cost of a symbol is 4x too low, then 4x too high: the estimate of the
    # remaining work jumps when the first batch is measured, in either direction.
    for cost in (4 * EMBED_S_GUESS, EMBED_S_GUESS / 4):
        shown = percentages(PassMeter(started=0.0), first_pass(cost))
        assert shown == sorted(shown), shown
        assert shown[0] == 0 and max(shown) == BUSY_MAX  # all embedded, but not yet ended
        assert all(p < 100 for p in shown)


def test_a_growing_estimate_slows_the_bar_instead_of_pushing_it_back():
    meter = PassMeter(started=0.0, embed_s=EMBED_S)
    meter.update(embedding(0))
    halfway = meter.update(embedding(SYMBOLS // 2)).percentage
    # A save adds a file with 600 more symbols to embed: more is left, nothing is undone.
    more = Progress("embedding", FILES + 1, FILES + 1, 700, 2 * SYMBOLS, 10.0, None, 4.0)
    after = meter.update(more).percentage
    assert halfway <= after < 60


def test_messages_name_the_phase_with_an_eta_once_the_embedder_is_measured():
    meter = PassMeter(started=0.0)
    assert meter.update(Progress("loading", 0, 0, 0, 0, 0.0, None, 0.0)).message == (
        "loading the vector index"
    )
    assert meter.update(Progress("walking", 0, 0, 0, 0, 0.0, None, 0.0)).message == (
        "scanning the workspace"
    )
    # Before any symbol is embedded its cost is a guess, and so would an ETA be.
    assert meter.update(parsing(121)).message == "parsing 121/400 files"
    assert meter.update(embedding(0)).message == "embedding 0/1,200 symbols"
    assert meter.update(embedding(300)).message == ("embedding 300/1,200 symbols, 10/s, 90 s left")


def test_the_end_says_what_the_pass_did():
    meter = PassMeter(started=100.0)
    last = embedding(SYMBOLS)
    idle = Progress("idle", last.files_done, FILES, SYMBOLS, SYMBOLS, 10.0, 0.0, 4.0)
    assert meter.finished(idle, now=132.4) == "indexed 400 files, 1,200 symbols in 32 s"
    one = Progress("idle", 1, 1, 3, 3, 10.0, 0.0, 0.01)
    assert meter.finished(one, now=100.4) == "indexed 1 file, 3 symbols in 0.4 s"
    nothing = Progress("idle", 0, 0, 0, 0, 0.0, 0.0, 0.0)
    assert meter.finished(nothing, now=100.1) == "up to date"
