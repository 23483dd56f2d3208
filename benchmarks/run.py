"""Run every benchmark (``benchmarks/bench_*.py``) one after the other.

Each benchmark runs the reference tool and ``appc`` on the same input in one
run and prints both timings and the ratio. Arguments are passed through to
each script (for example ``--scale 0.1`` for a quick run).

    python benchmarks/run.py [--only NAME] [ARGS...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from pathlib import Path


HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="run only bench_NAME.py")
    args, rest = parser.parse_known_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem == f"bench_{args.only}"]
    failed = 0
    for script in scripts:
        print(f"== {script.stem} ==", flush=True)
        result = subprocess.run([sys.executable, str(script), *rest], check=False)
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
