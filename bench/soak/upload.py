#!/usr/bin/env python3
"""Uploads the soak's S3 store: N model names (m000, m001, ...), each the
.tar.gz of one of the few distinct generated tenants (name i gets tenant
i mod D), so that hundreds of models cost seconds to make and upload. The
server keys models by name, so each name is a model of its own.

usage: upload.py ENDPOINT PREFIX ARCHIVE_DIR COUNT MODELS_FILE
Writes the names, one per line, to MODELS_FILE (Zipf rank order: m000 first)
and prints the total bytes uploaded.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

import s3_harness  # noqa: E402  (SigV4 signing, s3rver's bucket and account)


def main():
    endpoint, prefix, archive_dir, count, models_file = sys.argv[1:6]
    archives = sorted(f for f in os.listdir(archive_dir) if f.endswith(".tar.gz"))
    if not archives:
        sys.exit(f"upload.py: no .tar.gz in {archive_dir}")
    blobs = []
    for name in archives:
        with open(os.path.join(archive_dir, name), "rb") as f:
            blobs.append(f.read())
    names, total = [], 0
    for i in range(int(count)):
        name, blob = f"m{i:03d}", blobs[i % len(blobs)]
        status, body = s3_harness.signed_request(endpoint, "PUT", f"/{s3_harness.BUCKET}/{prefix}/{name}.tar.gz",
                                                 blob)
        if status != 200:
            sys.exit(f"upload.py: PUT {name} -> {status}: {body[:300]!r}")
        names.append(name)
        total += len(blob)
    with open(models_file, "w", encoding="ascii") as f:
        f.write("\n".join(names) + "\n")
    print(total)


if __name__ == "__main__":
    main()
