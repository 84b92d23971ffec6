"""ctest fixture: generate the shared integration-test store once.

usage: make_test_store.py GENERATOR OUT_DIR [generator flags...]

Skips the work when OUT_DIR already holds a store made by the same generator
binary with the same flags (recorded in OUT_DIR/.params). Generates into a
sibling temp directory and renames it, so an interrupted run leaves no half store.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import time


def fingerprint(generator, flags):
    h = hashlib.sha256()
    with open(generator, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return f"generator-sha256 {h.hexdigest()}\nflags {' '.join(flags)}\n"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    generator, out, flags = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3:]
    if not os.access(generator, os.X_OK):
        sys.exit(f"make_test_store: generator {generator} is not built")
    params = fingerprint(generator, flags)
    stamp = os.path.join(out, ".params")
    if os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as f:
            if f.read() == params:
                print(f"make_test_store: {out} is up to date")
                return
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [generator, "--out", tmp, *flags]
    print("make_test_store:", " ".join(cmd), flush=True)
    start = time.monotonic()
    subprocess.run(cmd, check=True)
    names = [e for e in os.listdir(tmp) if not e.startswith(("_", "."))]
    if not names or not os.path.isdir(os.path.join(tmp, "_heldout")):
        sys.exit(f"make_test_store: {tmp} has no models or no _heldout/ directory")
    with open(os.path.join(tmp, ".params"), "w", encoding="utf-8") as f:
        f.write(params)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    print(f"make_test_store: {len(names)} models in {out} ({time.monotonic() - start:.1f}s)")


if __name__ == "__main__":
    main()
