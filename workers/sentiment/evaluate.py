"""Three-class macro-F1 of the sentiment scorers on the shipped labelled sets.

    python -m workers.sentiment.evaluate [--raw-lexicon PATH] [--thresholds] [--speed]

Every set is split in two by a stable hash of each text: the `tune` half is the only one
looked at when the lexicon, rules and label thresholds were chosen; the `test` half is
held out. Baselines: plain VADER and VADER with the raw machine-translated Spanish lexicon
swapped in, both on the raw text with VADER's own ±0.05 thresholds. The table is
deterministic; `--speed` adds throughput, which is not.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import itertools
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from workers.sentiment import analysis
from workers.sentiment.analysis import LABELS, Analyzer
from workers.sentiment.language import decide
from workers.sentiment.slack_text import normalise

RAW_LEXICON = Path("../shared/data/sentiment/vader-es/lexicon.txt")
VADER_THRESHOLD = 0.05


@dataclass(frozen=True)
class Example:
    """One labelled text."""

    text: str
    label: str


@dataclass(frozen=True)
class LabelledSet:
    """A shipped evaluation set: its file, language and how to read it."""

    name: str
    lang: str
    file: str
    text_column: str
    label_column: str
    labels: tuple[tuple[str, str], ...] = ()  # file label → one of LABELS, if they differ

    def examples(self) -> list[Example]:
        """Every example, in file order."""
        raw = resources.files("workers.sentiment").joinpath(f"data/{self.file}")
        rename = dict(self.labels)
        with io.StringIO(raw.read_text("utf-8"), newline="") as handle:
            return [Example(row[self.text_column],
                            rename.get(row[self.label_column], row[self.label_column]))
                    for row in csv.DictReader(handle)]


SETS = (
    LabelledSet("slack_en", "en", "slack_en.csv", "text", "label"),
    LabelledSet("slack_es", "es", "slack_es.csv", "text", "label"),
    LabelledSet("sentimp21_es", "es", "sentimp21_es.csv", "full_text", "final_label",
                (("-1", "negative"), ("0", "neutral"), ("1", "positive"))),
)
SPLITS = ("tune", "test")


def split_of(text: str) -> str:
    """`tune` or `test`: a stable ~50/50 split by the SHA-256 of the text."""
    return SPLITS[hashlib.sha256(text.encode("utf-8")).digest()[0] % 2]


def examples(name: str, split: str | None = None) -> list[Example]:
    """The examples of one set (`slack_en`, `slack_es`, `sentimp21_es`), or one half of it."""
    chosen = next(s for s in SETS if s.name == name)
    return [e for e in chosen.examples() if split is None or split_of(e.text) == split]


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Unweighted mean over LABELS of each label's F1 (0 for a label never seen)."""
    total = 0.0
    for name in LABELS:
        hits = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == name)
        wrong = sum(1 for g, p in zip(gold, predicted, strict=True) if (g == name) != (p == name))
        total += 2 * hits / (2 * hits + wrong) if hits else 0.0
    return total / len(LABELS)


def vader_label(compound: float) -> str:
    """VADER's own three classes."""
    if compound >= VADER_THRESHOLD:
        return "positive"
    return "negative" if compound <= -VADER_THRESHOLD else "neutral"


Model = Callable[[Sequence[str]], list[str]]


def estafeta_model(analyzer: Analyzer, lang: str) -> Model:
    """The Analyzer, with the set's language as the channel's usual language."""
    return lambda texts: [s.label for s in analyzer.score_many(texts, fallback_lang=lang)]


def vader_model(lexicon_file: str | None = None) -> Model:
    """VADER on the raw text, with its own lexicon or another one swapped in."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = (SentimentIntensityAnalyzer(lexicon_file) if lexicon_file
             else SentimentIntensityAnalyzer())
    return lambda texts: [vader_label(vader.polarity_scores(t)["compound"]) for t in texts]


def table(analyzer: Analyzer, raw_lexicon: Path | None) -> list[tuple[str, str, str, int, float]]:
    """(set, split, model, examples, macro-F1) for every set, half and model."""
    rows = []
    plain = vader_model()
    swapped = vader_model(str(raw_lexicon.resolve())) if raw_lexicon else None
    for labelled in SETS:
        models: list[tuple[str, Model]] = [("vader", plain)]
        if labelled.lang == "es" and swapped is not None:
            models.append(("vader+raw-es-lexicon", swapped))
        models.append(("estafeta", estafeta_model(analyzer, labelled.lang)))
        for split in SPLITS:
            part = examples(labelled.name, split)
            gold = [e.label for e in part]
            for model_name, model in models:
                predicted = model([e.text for e in part])
                rows.append((labelled.name, split, model_name, len(part),
                             macro_f1(gold, predicted)))
    return rows


def best_thresholds(analyzer: Analyzer) -> tuple[float, float, float]:
    """(negative, positive, mean macro-F1) maximising the mean over the Slack tuning halves."""
    scored = []
    for name, lang in (("slack_en", "en"), ("slack_es", "es")):
        part = examples(name, "tune")
        compounds = [s.compound for s in analyzer.score_many([e.text for e in part],
                                                             fallback_lang=lang)]
        scored.append(([e.label for e in part], compounds))
    grid = [round(0.05 * k, 2) for k in range(0, 13)]
    best = (0.0, 0.0, -1.0)
    for low, high in itertools.product(grid, grid):
        def classify(c: float, low: float = -low, high: float = high) -> str:
            return "positive" if c >= high else "negative" if c <= low else "neutral"
        mean = sum(macro_f1(gold, [classify(c) for c in compounds])
                   for gold, compounds in scored) / len(scored)
        if mean > best[2] + 1e-12:
            best = (-low, high, mean)
    return best


def language_accuracy() -> list[tuple[str, int, float, float, float]]:
    """(set, examples, shares detected right, undecided and wrong), with no fallback."""
    rows = []
    for labelled in SETS:
        decided = [decide(normalise(e.text)) for e in labelled.examples()]
        count = len(decided)
        right = sum(1 for d in decided if d == labelled.lang)
        undecided = sum(1 for d in decided if d is None)
        rows.append((labelled.name, count, right / count, undecided / count,
                     (count - right - undecided) / count))
    return rows


def speed_sample(count: int = 4000) -> list[str]:
    """Distinct Slack-like messages of 5 to 30 words, half Spanish, half English, made by
    joining shipped messages of one language (so score_many's de-duplication cannot help)."""
    pools = [[e.text for e in examples(name)] for name in ("slack_es", "slack_en")]
    sample = []
    for n in range(count):
        pool, words = pools[n % 2], 5 + n % 26
        picked: list[str] = []
        k = n
        while len(picked) < words:
            k = (k * 7919 + 13) % len(pool)  # deterministic walk through the set
            picked += pool[k].split()
        sample.append(" ".join(picked[:words]))
    return [f"{text} #{n}" for n, text in enumerate(sample)]


def throughput(analyzer: Analyzer) -> tuple[float, float]:
    """Messages per second over `speed_sample()`, scored one by one and with score_many."""
    sample = speed_sample()
    analyzer.score_many(sample[:100])  # warm: first calls load models and fill caches
    start = time.perf_counter()
    for text in sample:
        analyzer.score(text)
    single = len(sample) / (time.perf_counter() - start)
    start = time.perf_counter()
    analyzer.score_many(sample)
    return single, len(sample) / (time.perf_counter() - start)


def _print(rows: Iterable[Sequence[object]], header: Sequence[str]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v)
                                for v in row) + " |")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--raw-lexicon", type=Path, default=RAW_LEXICON,
                        help="the raw translated lexicon, for the swapped-in baseline")
    parser.add_argument("--thresholds", action="store_true",
                        help="also search label thresholds on the tuning halves")
    parser.add_argument("--speed", action="store_true", help="also measure throughput")
    args = parser.parse_args(argv)
    analyzer = Analyzer()
    raw = args.raw_lexicon if args.raw_lexicon.is_file() else None
    if raw is None:
        print(f"({args.raw_lexicon} not found: no swapped-lexicon baseline)\n")
    _print(table(analyzer, raw), ("set", "split", "model", "n", "macro-F1"))
    print()
    _print(language_accuracy(), ("set", "n", "language right", "undecided", "wrong"))
    if args.thresholds:
        negative, positive, mean = best_thresholds(analyzer)
        print(f"\nbest thresholds on the tuning halves: NEGATIVE = {negative}, "
              f"POSITIVE = {positive} (mean macro-F1 {mean:.3f}); in use: "
              f"NEGATIVE = {analysis.NEGATIVE}, POSITIVE = {analysis.POSITIVE}")
    if args.speed:
        single, batched = throughput(analyzer)
        print(f"\nthroughput, messages of 5 to 30 words: {single:,.0f} messages/s one by one, "
              f"{batched:,.0f} with score_many")
    return 0


if __name__ == "__main__":
    sys.exit(main())
