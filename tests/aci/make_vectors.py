"""Regenerate the archive vectors that are too slow to build at test time.

``tests/vectors/archives/bomb-1gib.aci`` is a bzip2 ACI whose member
``rootfs/zeros`` declares 1 GiB of zeros: compressing that takes seconds
(``head -c 1G /dev/zero | bzip2 -9`` does the same), the result is under
1 KB. Run ``python -m tests.aci.make_vectors`` from the repository root.
"""

from __future__ import annotations

import bz2
import pathlib

from tests.aci.tarcraft import END, Header, directory, octal


GIB = 1 << 30
VECTORS = pathlib.Path(__file__).parent.parent / "vectors" / "archives"


def bomb() -> bytes:
    compressor = bz2.BZ2Compressor(9)
    head = (
        directory("rootfs") + Header(name=b"rootfs/zeros", size=octal(GIB, 12)).encode()
    )
    out = compressor.compress(head)
    zeros = bytes(1 << 20)
    for _ in range(GIB // len(zeros)):
        out += compressor.compress(zeros)
    return out + compressor.compress(END) + compressor.flush()


def main() -> None:
    VECTORS.mkdir(parents=True, exist_ok=True)
    (VECTORS / "bomb-1gib.aci").write_bytes(bomb())


if __name__ == "__main__":
    main()
