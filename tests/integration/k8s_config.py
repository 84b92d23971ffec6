"""The HAProxy configuration deploy/k8s/haproxy.yaml must carry: deploy/haproxy/modelmux.cfg
with its server placeholders filled by DNS-resolved server-template lines.

    python3 tests/integration/k8s_config.py > cfg   # prints it, to paste into haproxy.yaml
"""

import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = os.path.join(REPO, "deploy", "haproxy", "modelmux.cfg")
# SRV records of the headless Service: one per ready pod, with its port.
SRV = "_http._tcp.modelmux-instances.modelmux.svc.cluster.local"
MAX_INSTANCES = 32  # server slots; the HPA's maxReplicas must not exceed it

SERVERS = f"    server-template mm 1-{MAX_INSTANCES} {SRV} resolvers kube init-addr none\n"
# A template cannot `track` its namesakes, so the hot backend checks on its own.
SERVERS_TRACKED = (f"    server-template mm 1-{MAX_INSTANCES} {SRV} resolvers kube init-addr none "
                   "check inter 500ms fall 2 rise 1\n")
RESOLVERS = """
# Kubernetes DNS (the pod's resolv.conf); slots follow pods as they come and go.
resolvers kube
    parse-resolv-conf
    hold valid 5s
    accepted_payload_size 8192
"""


def k8s_haproxy_cfg():
    with open(BASE, encoding="utf-8") as f:
        text = f.read()
    for marker in ("    # @servers-tracked\n", "    # @servers\n"):
        if marker not in text:
            raise AssertionError(f"{BASE} has no {marker.strip()!r} line")
    text = text.replace("    # @servers-tracked\n", SERVERS_TRACKED).replace("    # @servers\n", SERVERS)
    return text + RESOLVERS


if __name__ == "__main__":
    print(k8s_haproxy_cfg(), end="")
