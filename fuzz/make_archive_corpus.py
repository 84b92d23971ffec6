#!/usr/bin/python3
"""Writes the seed corpus of the archive harness (fuzz/corpus/archive/).

Deterministic: rerun it after changing a case and commit what it writes.
Uncompressed tars (what archive_fuzzer.cc mutates best: it fixes their
header checksums) and a few .tar.gz and .tar.zst files as the stores hold
them (the .tar.zst ones made with the zstd program). Each case is an artifact
a store could hold: a good one, and the hostile entries the unpacker must
refuse (paths out of the directory, links, devices, odd modes, truncation,
contradictions).
"""
import gzip
import io
import os
import subprocess
import sys
import tarfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "archive")


def entry(name, data=b"", kind=tarfile.REGTYPE, mode=0o644, linkname="", size=None):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 1700000000
    info.linkname = linkname
    info.size = len(data) if size is None else size
    return info, data


def tar_bytes(entries, fmt=tarfile.USTAR_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    raw = buf.getvalue()
    # Keep the two end-of-archive blocks, drop the record padding after them.
    body = raw.rstrip(b"\0")
    end = (len(body) + 511) // 512 * 512
    return raw[: end + 1024]


MODEL = [
    entry("config.json", b'{"backend": "torchscript", "task": "text-classification", "max_tokens": 128}'),
    entry("model.pt", b"PK\x03\x04 not really a model"),
    entry("vocab.txt", b"<unk>\nthe\ncard\n"),
    entry("labels.txt", b"billing\nrefund\n"),
]

CASES = {
    "good-flat.tar": MODEL,
    "good-one-dir.tar": [entry("m/", kind=tarfile.DIRTYPE, mode=0o755)]
    + [entry("m/" + info.name, data) for info, data in MODEL],
    "good-dot-slash.tar": [entry("./", kind=tarfile.DIRTYPE, mode=0o755), entry("./config.json", b"{}")],
    "good-pax-long-name.tar": ("pax", [entry("d/" + "n" * 200 + ".txt", b"long")]),
    "good-gnu-long-name.tar": ("gnu", [entry("d/" + "g" * 150, b"gnu")]),
    "dotdot.tar": [entry("config.json", b"{}"), entry("../escape.txt", b"out")],
    "dotdot-deep.tar": [entry("a/b/../../../../../escape.txt", b"out")],
    "absolute.tar": [entry("/tmp/modelmux-escape.txt", b"out")],
    "symlink.tar": [entry("link", kind=tarfile.SYMTYPE, linkname="../../.."), entry("link/escape.txt", b"x")],
    "hardlink.tar": [entry("config.json", b"{}"), entry("hard", kind=tarfile.LNKTYPE, linkname="/etc/passwd")],
    "chardev.tar": [entry("dev", kind=tarfile.CHRTYPE)],
    "fifo.tar": [entry("fifo", kind=tarfile.FIFOTYPE)],
    "setuid.tar": [entry("run.sh", b"#!/bin/sh\n", mode=0o4755), entry("d/", kind=tarfile.DIRTYPE, mode=0o7777)],
    "file-then-dir.tar": [entry("x", b"file"), entry("x/y", b"under a file")],
    "dir-then-file.tar": [entry("x/", kind=tarfile.DIRTYPE), entry("x", b"over a dir")],
    "empty-name.tar": [entry("", b"nameless")],
    "duplicate.tar": [entry("a", b"one"), entry("a", b"two, replacing one")],
    "size-beyond-data.tar": [entry("short", b"abc".ljust(4096, b"z"))],
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, spec in CASES.items():
        fmt, entries = (spec if isinstance(spec, tuple) else ("ustar", spec))
        fmt = {"ustar": tarfile.USTAR_FORMAT, "pax": tarfile.PAX_FORMAT, "gnu": tarfile.GNU_FORMAT}[fmt]
        raw = tar_bytes(entries, fmt)
        if name == "size-beyond-data.tar":
            raw = raw[:512 + 512]  # the header says 4096 bytes; the archive ends after one block
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(raw)
    good = tar_bytes(MODEL)
    gz = lambda data: gzip.compress(data, compresslevel=9, mtime=0)
    zst = lambda data: subprocess.run(["zstd", "-q", "-19", "-c"], input=data, stdout=subprocess.PIPE,
                                      check=True).stdout
    outputs = {
        "good-flat.tar.gz": gz(good),
        "truncated.tar.gz": gz(good)[:-40],
        "dotdot.tar.gz": gz(tar_bytes(CASES["dotdot.tar"])),
        "not-a-tar.tar.gz": gz(b"just some text, not a tar archive\n" * 4),
        "empty.tar.gz": gz(b""),
        "gzip-magic-only.tar.gz": b"\x1f\x8b",
        "good-flat.tar.zst": zst(good),
        "truncated.tar.zst": zst(good)[:-20],
        "dotdot.tar.zst": zst(tar_bytes(CASES["dotdot.tar"])),
        "zstd-magic-only.tar.zst": b"\x28\xb5\x2f\xfd",
    }
    for name, data in outputs.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
