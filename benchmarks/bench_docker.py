"""docker2aci: squashed conversion of a three-layer `docker save` file vs `appc build`.

Makes a ~500 MB (``--scale 1``) three-layer image as an uncompressed
``docker save`` file (half random, half text blocks, as perf-anchors.md's
test data, so gzip has real work), converts it to one gzip ACI, then builds
the same final tree (the converted ACI, extracted) with ``appc.aci.build``.
Each step runs in its own process, so wall time and peak RSS are its own.

Prints throughput in MB/s of uncompressed layers, the conversion's speed as
a fraction of the build's (the goal is >= 0.80), and peak RSS at two scales
to show that memory does not grow with the image. The limits measured in
perf-anchors.md are printed beside them.

    python benchmarks/bench_docker.py [--scale 1.0] [--runs 3] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
WORDS = (
    b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    b"incididunt ut labore et dolore magna aliqua"
).split()

LIMITS = """\
limits from perf-anchors.md (same machine class):
  zlib level 6, one thread ........ 25-30 MB/s   (pigz -6, 2 threads: 42 MB/s)
  Python tarfile w:gz L6, big files 21.9 MB/s    (actool build: 13.6 MB/s)
  tar read / write ................ ~330 MB/s    (reading the layers is cheap)"""


def _mixed(rng: random.Random, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        chunk = min(4096, size - len(out))
        if rng.random() < 0.5:
            out += rng.randbytes(chunk)
        else:
            out += b" ".join(rng.choice(WORDS) for _ in range(chunk // 5 + 1))[:chunk]
    return bytes(out)


def make_image(path: Path, scale: float) -> int:
    """Write the docker save file; return the bytes of its uncompressed layers."""
    sys.path.insert(0, str(ROOT))
    from tests.docker.make_images import Dir, File, Image, write_docker_save

    rng = random.Random(42)
    layers = []
    for number, megabytes in enumerate((200, 150, 150)):
        size = int(megabytes * scale * 1_000_000)
        members: list[File | Dir] = [Dir(f"layer{number}")]
        # One big file and many small ones per layer: both paths of the writer.
        small = size // 4 // 8192
        members.append(File(f"layer{number}/big.bin", _mixed(rng, size - small * 8192)))
        members.extend(
            File(f"layer{number}/small/{i // 100:03d}-{i:05d}.bin", _mixed(rng, 8192))
            for i in range(small)
        )
        layers.append(members)
    image = Image(
        layers=layers, config={"Cmd": ["/bin/true"]}, repo_tags=["bench/docker:latest"]
    )
    write_docker_save(path, [image])
    return sum(len(blob) for blob in image.layer_blobs())


def _make_in_child(path: Path, scale: float) -> int:
    # In a child, so that this process stays small: a child's peak RSS
    # starts from its parent's size at fork on Linux.
    result = subprocess.run(
        [sys.executable, __file__, "--make", str(path), str(scale)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(result.stdout.strip())


def _run(code: str, *args: str) -> float:
    """Run Python code in a child; return its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True)
    return time.perf_counter() - start


CONVERT = "import sys, appc.docker; appc.docker.convert(sys.argv[1], sys.argv[2])"
BUILD = "import sys, appc.aci; appc.aci.build(sys.argv[1], sys.argv[2], overwrite=True)"
RSS = (
    "import sys, resource, appc.docker; appc.docker.convert(sys.argv[1], sys.argv[2]);"
    " print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"
)


def _rss(save: Path, out: Path) -> int:
    result = subprocess.run(
        [sys.executable, "-c", RSS, str(save), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(result.stdout.strip())


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--make":
        print(make_image(Path(sys.argv[2]), float(sys.argv[3])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="1.0 = ~500 MB of layers"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 below 80%% of appc build"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-docker-") as scratch:
        tmp = Path(scratch)
        save = tmp / "image.tar"
        layer_bytes = _make_in_child(save, args.scale)
        small_save = tmp / "small.tar"
        _make_in_child(small_save, args.scale / 4)
        out = tmp / "out"
        convert_times = []
        build_times = []
        import appc.aci

        layout = tmp / "layout"
        (aci_dir := tmp / "first").mkdir()
        _run(CONVERT, str(save), str(aci_dir))
        (aci,) = aci_dir.glob("*.aci")
        appc.aci.extract(aci, layout, preserve_owner=os.geteuid() == 0)
        # Alternate the order: the machine is shared and its load drifts.
        for run in range(args.runs):
            steps = [
                ("convert", CONVERT, save, out),
                ("build", BUILD, layout, tmp / "built.aci"),
            ]
            for name, code, source, target in steps if run % 2 == 0 else steps[::-1]:
                wall = _run(code, str(source), str(target))
                (convert_times if name == "convert" else build_times).append(wall)
        rss_small = _rss(small_save, tmp / "out-small")
        rss_full = _rss(save, tmp / "out-full")
    convert = statistics.median(convert_times)
    build = statistics.median(build_times)
    mb = layer_bytes / 1e6
    # The median of the paired ratios is steadier than the ratio of medians.
    ratio = statistics.median(
        b / c for b, c in zip(build_times, convert_times, strict=True)
    )
    report = {
        "layers_mb": round(mb, 1),
        "convert_s": [round(t, 2) for t in convert_times],
        "build_s": [round(t, 2) for t in build_times],
        "convert_mb_s": round(mb / convert, 1),
        "build_mb_s": round(mb / build, 1),
        "convert_vs_build": round(ratio, 3),
        "peak_rss_mib": {f"{mb / 4:.0f} MB": rss_small, f"{mb:.0f} MB": rss_full},
    }
    print(json.dumps(report, indent=1))
    print(
        f"docker2aci squashed: {mb / convert:.1f} MB/s of layers (median of {args.runs});"
        f" appc build of the same tree: {mb / build:.1f} MB/s;"
        f" conversion at {ratio:.0%} of build speed (goal >= 80%)"
    )
    print(
        f"peak RSS: {rss_small} MiB at {mb / 4:.0f} MB, {rss_full} MiB at {mb:.0f} MB"
    )
    print(LIMITS)
    return 1 if args.check and ratio < 0.8 else 0


if __name__ == "__main__":
    raise SystemExit(main())
