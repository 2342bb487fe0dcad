"""``cinderbench bench etcd-client``: the etcd clients the MagnetoDB engine could use, per call.

On one 3-node cluster, against its leader, the same calls through each client,
interleaved in blocks so machine noise hits all alike: a range read, a put, and
the optimistic write the engine makes (a range, then a Txn comparing its
mod_revision). Clients: gRPC through etcd-sdk-python's stubs (the engine's
choice), OpenStack's etcd3gw over etcd's HTTP/JSON gateway (tooz's client; when
installed), and the same gateway through the standard library's http.client
(what the gateway itself costs, without etcd3gw's requests/urllib3 layer).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import tempfile
import time
from collections.abc import Callable, Sequence

from hdrh.histogram import HdrHistogram

BLOCK = 50
VALUE = b"v" * 100


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def grpc_calls(endpoint: str) -> dict[str, Callable[[], object]]:
    import grpc
    from pyetcd import etcdrpc

    kv = etcdrpc.KVStub(grpc.insecure_channel(endpoint))

    def txn() -> object:
        kvs = kv.Range(etcdrpc.RangeRequest(key=b"bench/t")).kvs
        mod = kvs[0].mod_revision if kvs else 0
        compare = etcdrpc.Compare(
            key=b"bench/t", target=etcdrpc.Compare.MOD, result=etcdrpc.Compare.EQUAL
        )
        compare.mod_revision = mod
        put = etcdrpc.RequestOp(request_put=etcdrpc.PutRequest(key=b"bench/t", value=VALUE))
        return kv.Txn(etcdrpc.TxnRequest(compare=[compare], success=[put]))

    return {
        "range": lambda: kv.Range(etcdrpc.RangeRequest(key=b"bench/k")),
        "put": lambda: kv.Put(etcdrpc.PutRequest(key=b"bench/p", value=VALUE)),
        "range + Txn": txn,
    }


def gateway_calls(post: Callable[[str, dict], dict]) -> dict[str, Callable[[], object]]:
    def txn() -> object:
        kvs = post("/v3/kv/range", {"key": _b64(b"bench/t")}).get("kvs", [])
        mod = int(kvs[0]["mod_revision"]) if kvs else 0
        compare = {"key": _b64(b"bench/t"), "target": "MOD", "result": "EQUAL"}
        compare["mod_revision"] = mod
        put = {"request_put": {"key": _b64(b"bench/t"), "value": _b64(VALUE)}}
        return post("/v3/kv/txn", {"compare": [compare], "success": [put]})

    return {
        "range": lambda: post("/v3/kv/range", {"key": _b64(b"bench/k")}),
        "put": lambda: post("/v3/kv/put", {"key": _b64(b"bench/p"), "value": _b64(VALUE)}),
        "range + Txn": txn,
    }


def etcd3gw_post(endpoint: str) -> Callable[[str, dict], dict] | None:
    try:
        import etcd3gw
    except ImportError:
        return None
    host, port = endpoint.rsplit(":", 1)
    client = etcd3gw.Etcd3Client(host, int(port))
    return lambda path, body: client.post(client.base_url + path, json=body)


def stdlib_post(endpoint: str) -> Callable[[str, dict], dict]:
    host, port = endpoint.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port))

    def post(path: str, body: dict) -> dict:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        return json.loads(conn.getresponse().read())

    return post


def measure(clients: dict[str, dict[str, Callable[[], object]]], seconds: float) -> dict:
    """µs histograms per (client, call), the clients interleaved in blocks."""
    hists = {(c, call): HdrHistogram(1, 60_000_000, 3) for c in clients for call in clients[c]}
    calls = next(iter(clients.values())).keys()
    for call in calls:
        for client in clients.values():  # warm up
            for _ in range(BLOCK):
                client[call]()
        deadline = time.monotonic() + seconds * len(clients)
        while time.monotonic() < deadline:
            for name, client in clients.items():
                for _ in range(BLOCK):
                    t0 = time.perf_counter_ns()
                    client[call]()
                    hists[name, call].record_value(max(1, (time.perf_counter_ns() - t0) // 1000))
    return hists


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cinderbench bench etcd-client", description=__doc__)
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per call per client")
    args = parser.parse_args(argv)

    from bench.drive.clusters.etcd import EtcdCluster

    with tempfile.TemporaryDirectory(prefix="cinderbench-etcd-client-") as root:
        started = time.perf_counter()
        with EtcdCluster(root, size=3) as cluster:
            print(f"3-node etcd cluster up in {time.perf_counter() - started:.1f} s")
            leader = cluster.nodes[cluster.leader_index() or 0].address
            clients = {"gRPC (etcd-sdk-python stubs)": grpc_calls(leader)}
            gateway = etcd3gw_post(leader)
            if gateway is not None:
                clients["etcd3gw (HTTP gateway)"] = gateway_calls(gateway)
            else:
                print("etcd3gw is not installed (pip install etcd3gw): left out")
            clients["http.client (HTTP gateway)"] = gateway_calls(stdlib_post(leader))
            hists = measure(clients, args.duration)
    calls = next(iter(clients.values())).keys()
    print(f"\n{'client':<30}" + "".join(f"{call + ' p50/p99 µs':>24}" for call in calls))
    for name in clients:
        cells = "".join(
            f"{hists[name, c].get_value_at_percentile(50):>14}"
            f"{hists[name, c].get_value_at_percentile(99):>10}"
            for c in calls
        )
        print(f"{name:<30}{cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
