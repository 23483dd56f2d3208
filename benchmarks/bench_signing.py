"""Signing benchmark: ``gpg --verify`` / ``gpg --detach-sign`` against appc, in one run.

Makes a file of random bytes (1 GiB by default) and an RSA-2048 key in a
throwaway GNUPGHOME, then times whole processes, alternating gpg and appc:

- verify: ``gpg --verify SIG FILE`` against ``appc.signing.verify`` (the same
  signature, made by gpg, and the same key);
- sign: ``gpg --armor --detach-sign`` against ``appc.signing.sign`` (the same key).

It prints the median wall times, the speed ratios (targets: verify >= 2x gpg,
sign >= 1x gpg) and appc's peak RSS per process (target: under 64 MiB
whatever the size), measured with ``wait4``. Each side's output is checked by
the other tool before anything is timed.

    python benchmarks/bench_signing.py [--size 1G] [--scale 0.1] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from pathlib import Path


GIB = 1 << 30
RSS_TARGET_MIB = 64
VERIFY_TARGET = 2.0
SIGN_TARGET = 1.0

VERIFY_CODE = "import sys; from appc.signing import verify; verify(sys.argv[1], sys.argv[2], sys.argv[3])"
SIGN_CODE = (
    "import sys, pathlib; from appc.signing import sign; "
    "pathlib.Path(sys.argv[3]).write_text("
    "sign(sys.argv[1], pathlib.Path(sys.argv[2]).read_bytes(), hash_algorithm=sys.argv[4] or None))"
)


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    suffix = text[-1:].upper()
    if suffix in units:
        return int(float(text[:-1]) * units[suffix])
    return int(text)


def timed(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one process, from exec to reap."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({process.returncode}): {stderr}")
    return elapsed, usage.ru_maxrss


def make_file(path: Path, size: int) -> None:
    chunk = 1 << 20
    with path.open("wb") as stream:
        left = size
        while left:
            stream.write(os.urandom(min(chunk, left)))
            left -= min(chunk, left)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", default="1G", help="file size (bytes, or with K/M/G); default 1G"
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply the size (benchmarks/run.py passes it)",
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="timed runs per side (median reported)"
    )
    parser.add_argument(
        "--dir", help="work directory (default: a temporary one, removed at the end)"
    )
    args = parser.parse_args()
    gpg = shutil.which("gpg")
    gpgconf = shutil.which("gpgconf")
    if gpg is None or gpgconf is None:
        print("gpg is not installed (apt-get install gnupg)", file=sys.stderr)
        return 1
    size = int(parse_size(args.size) * args.scale)
    work = Path(args.dir or tempfile.mkdtemp(prefix="bench-signing-"))
    work.mkdir(parents=True, exist_ok=True)
    home = work / "gnupg"
    home.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "GNUPGHOME": str(home), "LC_ALL": "C"}
    base = [gpg, "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""]
    try:
        return run(args, size, work, env, base)
    finally:
        subprocess.run(
            [gpgconf, "--homedir", str(home), "--kill", "all"], check=False, env=env
        )
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


def run(
    args: argparse.Namespace,
    size: int,
    work: Path,
    env: dict[str, str],
    base: list[str],
) -> int:
    image = work / "image.aci"
    print(
        f"making {size / GIB:.2f} GiB of random bytes and an RSA-2048 key in {work}",
        flush=True,
    )
    make_file(image, size)
    subprocess.run(
        [
            *base,
            "--quick-gen-key",
            "Bench <bench@example.com>",
            "rsa2048",
            "sign",
            "never",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    public, secret = work / "pub.asc", work / "sec.asc"
    public.write_bytes(
        subprocess.run(
            [*base, "--armor", "--export", "<bench@example.com>"],
            env=env,
            check=True,
            capture_output=True,
        ).stdout
    )
    secret.write_bytes(
        subprocess.run(
            [*base, "--armor", "--export-secret-keys", "<bench@example.com>"],
            env=env,
            check=True,
            capture_output=True,
        ).stdout
    )
    gpg_sig, our_sig = work / "gpg.asc", work / "ours.asc"
    python = sys.executable
    gpg_verify = [*base, "--verify", str(gpg_sig), str(image)]
    our_verify = [python, "-c", VERIFY_CODE, str(image), str(gpg_sig), str(public)]
    gpg_sign = [*base, "--armor", "--detach-sign", "--output", str(gpg_sig), str(image)]
    # appc signs with SHA-256 by default, gpg with SHA-512 for this key; the
    # "appc sign512" row does the same work as gpg.
    our_sign = [python, "-c", SIGN_CODE, str(image), str(secret), str(our_sig), ""]
    ours_512 = str(work / "ours512.asc")
    our_sign_512 = [
        python,
        "-c",
        SIGN_CODE,
        str(image),
        str(secret),
        ours_512,
        "SHA512",
    ]

    # Warm-up (page cache, gpg-agent) and cross-checks: each verifies the other's signature.
    timed(gpg_sign, env)
    timed(our_sign, env)
    timed([*base, "--verify", str(our_sig), str(image)], env)
    timed(our_verify, env)

    results: dict[str, list[tuple[float, int]]] = {
        "gpg verify": [],
        "appc verify": [],
        "gpg sign": [],
        "appc sign": [],
        "appc sign512": [],
    }
    for _ in range(args.runs):
        results["gpg verify"].append(timed(gpg_verify, env))
        results["appc verify"].append(timed(our_verify, env))
        results["gpg sign"].append(timed(gpg_sign, env))
        results["appc sign"].append(timed(our_sign, env))
        results["appc sign512"].append(timed(our_sign_512, env))

    mb = size / 1e6
    print(
        f"\n{'':<12} {'median s':>9} {'min-max s':>13} {'MB/s':>7} {'peak RSS MiB':>13}"
    )
    medians: dict[str, float] = {}
    for name, runs in results.items():
        times = [t for t, _ in runs]
        medians[name] = statistics.median(times)
        rss = max(r for _, r in runs) / 1024
        print(
            f"{name:<12} {medians[name]:>9.2f} {min(times):>6.2f}-{max(times):<6.2f} {mb / medians[name]:>7.0f} {rss:>13.1f}"
        )
    verify_ratio = medians["gpg verify"] / medians["appc verify"]
    sign_ratio = medians["gpg sign"] / medians["appc sign"]
    sign_512_ratio = medians["gpg sign"] / medians["appc sign512"]
    ours = [
        r for name, runs in results.items() if name.startswith("appc") for _, r in runs
    ]
    our_rss = max(ours) / 1024
    print(
        f"\nverify: appc is {verify_ratio:.2f}x gpg's throughput (target >= {VERIFY_TARGET}x)"
    )
    print(
        f"sign:   appc is {sign_ratio:.2f}x gpg's throughput (target >= {SIGN_TARGET}x; "
        "appc uses SHA-256 by default, gpg SHA-512 for this key)"
    )
    print(f"        {sign_512_ratio:.2f}x when appc also uses SHA-512")
    print(f"appc peak RSS: {our_rss:.1f} MiB (target < {RSS_TARGET_MIB} MiB)")
    met = (
        verify_ratio >= VERIFY_TARGET
        and sign_ratio >= SIGN_TARGET
        and our_rss < RSS_TARGET_MIB
    )
    print("targets met" if met else "TARGETS NOT MET")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
