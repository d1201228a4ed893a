"""``python -m pipeline.evaluation``: run every quality evaluation (each skips when its data is absent)."""

from __future__ import annotations

import importlib
import sys

EVALUATIONS = ["boilerplate", "sentseg", "paraphrase", "reuse_precision", "derivation", "provenance_judged"]


def main() -> int:
    failed = []
    for name in EVALUATIONS:
        print(f"\n## {name}\n", flush=True)
        try:
            module = importlib.import_module(f"pipeline.evaluation.{name}")
        except ModuleNotFoundError as exc:
            print(f"(evaluation {name} unavailable: {exc})")
            continue
        code = module.main([]) if module.main.__code__.co_argcount else module.main()
        if code:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
