#!/usr/bin/env python3
"""The soak's management traffic: every --every seconds one call of a fixed
cycle over the REST routes an operator uses (README, "APIs"): pin a hot
model, load one through SageMaker's POST /models, unload one through KServe,
list the repository index, unpin, delete the loaded one, load one through
KServe. One JSON line per call with its status and time.

usage: manage.py --port P --models-file F --out FILE --until EPOCH [--every 15]
                 [--seed 1]

MODELMUX_ADMIN_TOKEN, when set, is sent as `Authorization: Bearer <token>`
on every call, so the soak runs the same before and after access control
(issue 13) lands. The token itself is never written anywhere.

404 (not loaded) and 409 (already loaded) are normal answers here: the
workload loads and evicts the same models behind these calls' backs.
"""

import argparse
import http.client
import json
import os
import random
import time

# A call can wait on the store (POST /models, KServe load): long enough for
# the server's own S3 timeouts and retries, so a slow answer is measured
# rather than cut off.
CALL_TIMEOUT_S = 120


def call(port, method, path, body, token):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CALL_TIMEOUT_S)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, data[:200].decode("utf-8", "replace"), time.monotonic() - start
    except (OSError, http.client.HTTPException) as e:
        return None, type(e).__name__, time.monotonic() - start
    finally:
        conn.close()


def cycle(models, rng):
    """The calls of one round: (action, method, path, body). The pinned model
    is among the most popular (rank 1), so pinning it takes no extra room;
    the others come from the middle of the popularity order."""
    hot = models[1]
    middle = models[len(models) // 4: len(models) // 2] or models
    a, b, c = (rng.choice(middle) for _ in range(3))
    load = "/v2/repository/models/{}/load"
    return [
        ("pin", "POST", load.format(hot), {"parameters": {"pin": True}}),
        ("sagemaker_load", "POST", "/models", {"model_name": a, "url": a}),
        ("kserve_unload", "POST", f"/v2/repository/models/{b}/unload", {}),
        ("index", "POST", "/v2/repository/index", {}),
        ("unpin", "POST", load.format(hot), {"parameters": {"pin": False}}),
        ("sagemaker_delete", "DELETE", f"/models/{a}", None),
        ("kserve_load", "POST", load.format(c), {}),
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--models-file", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--until", type=float, required=True, help="stop at this epoch time")
    parser.add_argument("--every", type=float, default=15.0, help="seconds between calls")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with open(args.models_file, encoding="ascii") as f:
        models = [line.strip() for line in f if line.strip()]
    token = os.environ.get("MODELMUX_ADMIN_TOKEN", "")
    rng = random.Random(args.seed)
    calls = []
    with open(args.out, "a", encoding="utf-8") as out:
        next_at = time.time()
        while True:
            time.sleep(max(0.0, next_at - time.time()))
            if time.time() >= args.until:
                return
            if not calls:
                calls = cycle(models, rng)
            action, method, path, body = calls.pop(0)
            t = time.time()
            status, text, seconds = call(args.port, method, path, body, token)
            out.write(json.dumps({"t": round(t, 3), "action": action, "method": method, "path": path,
                                  "status": status, "seconds": round(seconds, 3),
                                  "answer": text if status is None or status >= 300 else ""}) + "\n")
            out.flush()
            next_at = max(next_at + args.every, time.time())


if __name__ == "__main__":
    main()
