"""Manifest parse + validate: appc against ``actool validate --type=manifest``, in one run.

Generates the same 1,000 manifests every time (hypothesis, derandomized:
image and pod manifests with every field and isolator in play), writes them
to a scratch directory, then times, alternating, whole processes on the same
files:

- ``actool validate --type=manifest FILE...`` (all files, one process);
- ``python -c "import appc; appc.load_manifest(...)"`` over all files (one process);

and, inside this process, appc's own parse + validate time per manifest.
It also measures ``import appc`` (a fresh interpreter, best of N, minus a bare
interpreter's start) and checks that it imports none of pgpy, urllib3,
tarfile or hypothesis. Ratios are reference time over ours: above 1 means
appc is faster.

    python benchmarks/bench_manifest.py [--count 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from pathlib import Path
from typing import Any


HEAVY = ("pgpy", "urllib3", "tarfile", "hypothesis")
LOAD_ALL = """
import sys, appc
for path in sys.argv[1:]:
    with open(path, "rb") as file:
        appc.load_manifest(file.read())
"""


def generate(count: int) -> list[dict[str, Any]]:
    """The same ``count`` valid manifest documents on every run."""
    from appc.testing.strategies import manifest_documents
    from hypothesis import HealthCheck, Phase, given, settings

    documents: list[dict[str, Any]] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(manifest_documents(valid=True))
    def collect(document: dict[str, Any]) -> None:
        documents.append(document)

    collect()
    return documents[:count]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def import_time(runs: int) -> tuple[float, float]:
    """Best-of-``runs`` seconds for a bare interpreter and for ``import appc``."""
    bare = min(timed([sys.executable, "-c", "pass"]) for _ in range(runs))
    with_appc = min(timed([sys.executable, "-c", "import appc"]) for _ in range(runs))
    return bare, with_appc


def heavy_imports() -> list[str]:
    code = "import json, sys, appc; print(json.dumps(sorted(sys.modules)))"
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return [name for name in json.loads(output) if name.split(".")[0] in HEAVY]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--scale", type=float, default=None, help="ignored (run.py passes it)"
    )
    args = parser.parse_args()

    actool = shutil.which("actool")
    if actool is None:
        print("actool is not installed (apt-get install appc-spec)")
        return 1
    import appc

    documents = generate(args.count)
    with tempfile.TemporaryDirectory(prefix="appc-bench-manifest-") as scratch:
        paths: list[str] = []
        for index, document in enumerate(documents):
            path = Path(scratch, f"m{index:05d}.json")
            path.write_text(json.dumps(document), encoding="utf-8")
            paths.append(str(path))
        total_bytes = sum(Path(p).stat().st_size for p in paths)

        # Both must accept every file, or the timings compare different work.
        subprocess.run([actool, "validate", "--type=manifest", *paths], check=True)
        subprocess.run([sys.executable, "-c", LOAD_ALL, *paths], check=True)

        reference: list[float] = []
        ours: list[float] = []
        for _ in range(args.runs):
            reference.append(timed([actool, "validate", "--type=manifest", *paths]))
            ours.append(timed([sys.executable, "-c", LOAD_ALL, *paths]))

        texts = [Path(p).read_bytes() for p in paths]
        in_process: list[float] = []
        for _ in range(args.runs):
            start = time.perf_counter()
            for text in texts:
                appc.load_manifest(text)
            in_process.append(time.perf_counter() - start)

    bare, with_appc = import_time(args.runs * 2)
    heavy = heavy_imports()
    ref, mine, inner = (
        statistics.median(reference),
        statistics.median(ours),
        statistics.median(in_process),
    )
    print(
        f"{len(documents)} manifests, {total_bytes / 1e6:.2f} MB of JSON, median of {args.runs} runs"
    )
    print(f"  actool validate --type=manifest (one process) {ref * 1000:9.1f} ms")
    print(
        f"  appc load_manifest (one process)               {mine * 1000:9.1f} ms   ratio {ref / mine:.2f}"
    )
    print(
        f"  appc load_manifest in process                  {inner * 1000:9.1f} ms   "
        f"{inner / len(documents) * 1e6:.0f} us per manifest, ratio {ref / inner:.2f}"
    )
    print(
        f"  import appc: {(with_appc - bare) * 1000:.1f} ms over a bare interpreter ({bare * 1000:.1f} ms)"
    )
    print(f"  import appc pulls in heavy modules: {heavy or 'none'}")
    return 1 if heavy else 0


if __name__ == "__main__":
    raise SystemExit(main())
