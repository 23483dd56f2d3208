"""Benchmark the ACI commands against the reference tools, as ratios, in one run.

Generates two trees in a scratch directory (as perf-anchors.md describes
them): "big", four files of 400+300+200+124 MiB, and "small", 30,000 files
of 1-16 KiB in 3,321 directories; half of each 4 KiB block is random, half
text, so gzip is not trivial. ``--scale`` multiplies the sizes and counts
(1.0 is the full size, which takes minutes; the default is small).

On each tree, whole-process wall time (exec to reap), on the same input:

- ``appc build`` against ``actool build`` (target: 3x faster);
- ``appc validate`` against ``actool validate`` on actool's ACI (1.3x);
- ``appc image-id`` against ``zcat FILE | sha512sum`` (1.8x);
- ``appc extract`` against ``tar -xzf`` (0.8x, i.e. at most 25 % slower);

and the peak RSS of each of our processes. Ratios are reference time over
ours: above 1 means faster. The appc package is byte-compiled first, as an
installed one is. Run it alone on the machine::

    python benchmarks/bench_aci.py --scale 1
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from pathlib import Path
from typing import NamedTuple


MANIFEST = (
    '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/perf",'
    '"labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}]}\n'
)
WORDS = (
    b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    b"incididunt ut labore et dolore magna aliqua"
).split()
TARGETS = {"build": 3.0, "validate": 1.3, "image-id": 1.8, "extract": 0.8}


def _mixed(rng: random.Random, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        chunk = min(4096, size - len(out))
        if rng.random() < 0.5:
            out += rng.randbytes(chunk)
        else:
            out += b" ".join(rng.choice(WORDS) for _ in range(chunk // 5 + 1))[:chunk]
    return bytes(out)


def make_big(root: Path, scale: float) -> None:
    rng = random.Random(42)
    (root / "rootfs" / "data").mkdir(parents=True)
    (root / "manifest").write_text(MANIFEST)
    for index, mebibytes in enumerate((400, 300, 200, 124)):
        with (root / "rootfs" / "data" / f"blob{index}.bin").open("wb") as out:
            for _ in range(max(1, round(mebibytes * scale))):
                out.write(_mixed(rng, 1 << 20))


def make_small(root: Path, scale: float) -> None:
    rng = random.Random(42)
    (root / "rootfs").mkdir(parents=True)
    (root / "manifest").write_text(MANIFEST)
    for index in range(max(1, round(30_000 * scale))):
        directory = (
            root
            / "rootfs"
            / f"d{index % 20:02d}"
            / f"e{(index // 20) % 15:02d}"
            / f"f{(index // 300) % 10}"
        )
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"file{index:05d}.bin").write_bytes(
            _mixed(rng, rng.randint(1024, 16 * 1024))
        )


class Sample(NamedTuple):
    wall: float  # seconds, exec to reap
    cpu: float  # user + system seconds of the process and its children
    rss_kib: int  # peak resident set size


def run(argv: list[str], *, shell: bool = False) -> Sample:
    """Run one process (a shell line with ``shell``) and measure it."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv if not shell else ["sh", "-c", argv[0]], stdout=subprocess.DEVNULL
    )
    # wait4 reports the child with the children it waited for (a pipeline).
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {argv}")
    return Sample(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


class Row(NamedTuple):
    operation: str
    reference: float
    ours: float
    reference_cpu: float
    ours_cpu: float
    rss_mib: float

    @property
    def ratio(self) -> float:
        return self.reference / self.ours


def measure(
    name: str,
    reference: list[str],
    ours: list[str],
    runs: int,
    *,
    shell: bool,
    reset: list[Path],
) -> Row:
    theirs: list[Sample] = []
    mine: list[Sample] = []
    for _ in range(runs):
        for path in reset:
            shutil.rmtree(path, ignore_errors=True)
        theirs.append(run(reference, shell=shell))
        for path in reset:
            shutil.rmtree(path, ignore_errors=True)
        mine.append(run(ours))
    return Row(
        name,
        statistics.median(s.wall for s in theirs),
        statistics.median(s.wall for s in mine),
        statistics.median(s.cpu for s in theirs),
        statistics.median(s.cpu for s in mine),
        max(s.rss_kib for s in mine) / 1024,
    )


def _operations(
    appc: list[str],
    *,
    layout: Path,
    ref_aci: Path,
    our_aci: Path,
    out: Path,
    level: list[str],
) -> dict[str, tuple[list[str], list[str], bool, list[Path]]]:
    """Each operation: the reference command, ours, whether the first is a shell line."""
    return {
        "build": (
            ["actool", "build", "--overwrite", str(layout), str(ref_aci)],
            [*appc, "build", *level, "--overwrite", str(layout), str(our_aci)],
            False,
            [],
        ),
        "validate": (
            ["actool", "validate", str(ref_aci)],
            [*appc, "validate", str(ref_aci)],
            False,
            [],
        ),
        "image-id": (
            [f"zcat {ref_aci} | sha512sum"],
            [*appc, "image-id", str(ref_aci)],
            True,
            [],
        ),
        "extract": (
            [f"mkdir -p {out} && tar -xzf {ref_aci} -C {out}"],
            [*appc, "extract", str(ref_aci), str(out)],
            True,
            [out],
        ),
    }


def compile_appc() -> None:
    """Byte-compile the appc package, as ``pip install`` does.

    A checkout installed in editable mode, where PYTHONDONTWRITEBYTECODE is
    set (as on the development machine), compiles every module on every
    start: 0.15 s of each command, which an installed appc does not pay.
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("appc")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("appc is not importable")
    for location in spec.submodule_search_locations:
        compileall.compile_dir(location, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=0.05,
        help="1.0 = the issue's sizes (default 0.05)",
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="runs per measurement; the median is shown"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="scratch directory (default: a temporary one)",
    )
    parser.add_argument("--trees", default="big,small", help="which trees (big,small)")
    parser.add_argument(
        "--only", default="build,validate,image-id,extract", help="which operations"
    )
    parser.add_argument(
        "--compression-level", type=int, default=None, help="passed to appc build"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch directory"
    )
    args = parser.parse_args()
    for tool in ("actool", "zcat", "sha512sum", "tar"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed")
    appc = [sys.executable, "-m", "appc"]
    compile_appc()
    level = (
        []
        if args.compression_level is None
        else [f"--compression-level={args.compression_level}"]
    )
    work = args.workdir or Path(tempfile.mkdtemp(prefix="appc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: list[tuple[str, Row]] = []
    try:
        for tree in args.trees.split(","):
            layout = work / tree
            if not layout.exists():
                print(
                    f"generating {tree} tree (scale {args.scale})...", file=sys.stderr
                )
                (make_big if tree == "big" else make_small)(layout, args.scale)
            ref_aci, our_aci = work / f"{tree}-actool.aci", work / f"{tree}-appc.aci"
            out = work / f"{tree}-out"
            size = sum(p.stat().st_size for p in layout.rglob("*") if p.is_file())
            print(f"{tree}: {size / 1e6:.1f} MB of file data", file=sys.stderr)
            if not ref_aci.exists():
                subprocess.run(
                    ["actool", "build", str(layout), str(ref_aci)], check=True
                )
            operations = _operations(
                appc,
                layout=layout,
                ref_aci=ref_aci,
                our_aci=our_aci,
                out=out,
                level=level,
            )
            for name in args.only.split(","):
                reference, ours, shell, reset = operations[name]
                print(f"  {tree} {name}...", file=sys.stderr)
                results.append(
                    (
                        tree,
                        measure(
                            name, reference, ours, args.runs, shell=shell, reset=reset
                        ),
                    )
                )
            shutil.rmtree(out, ignore_errors=True)
            ours_id = subprocess.run(
                [*appc, "image-id", str(ref_aci)],
                capture_output=True,
                text=True,
                check=True,
            )
            shell_id = subprocess.run(
                f"zcat {ref_aci} | sha512sum",
                shell=True,
                capture_output=True,
                text=True,
                check=True,
            )
            assert ours_id.stdout.strip() == "sha512-" + shell_id.stdout.split()[0], (
                "image IDs disagree"
            )
        print(
            f"\nscale {args.scale}, {args.runs} run(s) each, median wall seconds;"
            " ratio = reference / ours; CPU = user + system seconds;"
            f" load average {os.getloadavg()[0]:.2f}"
        )
        print(
            f"{'tree':6} {'operation':9} {'reference':>10} {'ours':>8} {'ratio':>6} {'target':>6}"
            f" {'ok':>3} {'ref CPU':>8} {'our CPU':>8} {'our RSS':>9}"
        )
        for tree, row in results:
            target = TARGETS[row.operation]
            verdict = "yes" if row.ratio >= target else "NO"
            print(
                f"{tree:6} {row.operation:9} {row.reference:10.2f} {row.ours:8.2f} "
                f"{row.ratio:6.2f} {target:6.1f} {verdict:>3} {row.reference_cpu:8.2f} {row.ours_cpu:8.2f}"
                f" {row.rss_mib:5.1f} MiB"
            )
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
