"""From mined records to what the trainer reads: (query, code, hard negative) rows and a
validation retrieval task.

The sample is weighted twice. By query form, so the doc sentence (the form evaluations ask)
leads without crowding out the others. By source, tempered (weight ∝ count^-0.5), so the
JDK's tens of thousands of methods do not drown the smaller JavaScript sources and each
language still counts in proportion to what it offers. Sampling is seeded: the same records
and settings give the same rows, which resuming a run depends on.

A share of the rows (`rest_share`, TrainConfig; 0 in the recipe that made the shipped model,
0.4 in the accelerator's bundle) pairs the query with the document that keeps the rest of its
doc (mine.py's `document_rest`), and its hard negative likewise where it has one, so a doc is
no sign of the answer: real code keeps its docs, evaluations by mined pairs remove them.

Queries are put in findcode's query form (documents.split_identifiers, as Engine.search does)
and documents are already in its document form, so the model trains on what it will see.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from findcode.documents import split_identifiers

from bench.train import CACHE
from bench.train.fit import Validation
from bench.train.mine import MINE_VERSION
from bench.train.negatives import LexicalIndex

DATA = CACHE / "data"
FORM_WEIGHTS = {"doc": 4.0, "paragraph": 1.5, "name": 1.5, "mix": 2.0}
SOURCE_TEMPERATURE = 0.5


def training_rows(
    records: Sequence[dict],
    rows: int,
    seed: int,
    log: Callable[[str], None],
    rest_share: float = 0.0,
) -> list[dict]:
    """`rows` (query, positive, negative) rows from the training records, cached on disk."""
    train = [r for r in records if r["split"] == "train"]
    settings = [rows, seed, FORM_WEIGHTS, SOURCE_TEMPERATURE, rest_share, MINE_VERSION]
    payload = json.dumps([*settings, [r["id"] for r in train]]).encode()
    key = hashlib.sha256(payload).hexdigest()[:16]
    path = DATA / f"train-{key}.jsonl"
    if path.is_file():
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    chosen = _sample(train, rows, seed)
    by_source: dict[str, list[dict]] = defaultdict(list)
    for record in train:
        by_source[record["source"]].append(record)
    indexes = {name: LexicalIndex(group) for name, group in by_source.items()}
    rng = random.Random(seed)
    out = []
    for number, (record, form) in enumerate(chosen, start=1):
        query = record["queries"][form]
        negative = indexes[record["source"]].negative(record, query, rng)
        # No draw at 0, so the rows (and their negatives) are the ones made before the share.
        with_rest = (
            rest_share > 0 and record["document_rest"] is not None and rng.random() < rest_share
        )
        out.append(
            {
                "anchor": split_identifiers(query),
                "positive": record["document_rest"] if with_rest else record["document"],
                "negative": (with_rest and negative["document_rest"]) or negative["document"],
                "form": form + (" +rest" if with_rest else ""),
                "source": record["source"],
            }
        )
        if number % 10000 == 0:
            log(f"data: hard negatives {number}/{len(chosen)}")
    DATA.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in out))
    partial.replace(path)
    return out


def _sample(train: Sequence[dict], rows: int, seed: int) -> list[tuple[dict, str]]:
    """Weighted sampling without replacement (Efraimidis-Spirakis keys), then shuffled."""
    sizes = Counter(record["source"] for record in train)
    mean = sum(sizes.values()) / len(sizes)
    rng = random.Random(seed)
    keyed = []
    for record in train:
        balance = (mean / sizes[record["source"]]) ** SOURCE_TEMPERATURE
        for form in record["queries"]:
            weight = FORM_WEIGHTS[form] * balance
            keyed.append((rng.random() ** (1.0 / weight), record["id"], form, record))
    keyed.sort(key=lambda item: (item[0], item[1], item[2]), reverse=True)
    chosen = [(record, form) for _key, _id, form, record in keyed[:rows]]
    rng.shuffle(chosen)
    return chosen


def validation(records: Sequence[dict], queries: int, corpus: int, seed: int) -> Validation:
    """Doc-sentence queries for `queries` held-out functions, searched among `corpus` held-out
    functions (their targets and random others as distractors).

    A sample, not all held-out code: on two shared cores embedding every held-out function
    would cost minutes of training time per evaluation.
    """
    held_out = [r for r in records if r["split"] == "val"]
    rng = random.Random(seed)
    shuffled = rng.sample(held_out, len(held_out))
    asked = shuffled[:queries]
    searched = shuffled[: max(corpus, queries)]
    return Validation(
        queries={r["id"]: split_identifiers(r["queries"]["doc"]) for r in asked},
        corpus={r["id"]: r["document"] for r in searched},
        relevant={r["id"]: {r["id"]} for r in asked},
    )


def describe(rows: Sequence[dict]) -> dict[str, dict[str, int]]:
    """Row counts by source and by query form, for the log and the report."""
    return {
        "by source": dict(Counter(row["source"] for row in rows).most_common()),
        "by form": dict(Counter(row["form"] for row in rows).most_common()),
    }
