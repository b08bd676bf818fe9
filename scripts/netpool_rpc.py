"""netpool_rpc: JSON-RPC 2.0 calls to netpoold over its local unix socket,
for the tests' and benchmarks' Python tools.

Each call opens a connection of its own (HTTP/1.1, Connection: close), as
the CLI does, so a tool measures what a client sees.  A tool finds this
module with

    sys.path.insert(0, os.path.join(TOP, "scripts"))

where TOP is the repository's top folder.
"""

import json
import socket


class RpcError(RuntimeError):
    """The answer carried a JSON-RPC error; 'error' is its object."""

    def __init__(self, method, error):
        super().__init__("%s: %s" % (method, error))
        self.method = method
        self.error = error


def send(path, payload, timeout=120):
    """Sends 'payload' (JSON-able: a request or a batch) to the socket at
    'path' and returns the connection, for receive() to read its answer
    later (a long poll such as event.from runs while the caller acts)."""
    body = json.dumps(payload).encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(b"POST /jsonrpc HTTP/1.1\r\nHost: localhost\r\n"
                  b"Connection: close\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
    except BaseException:
        s.close()
        raise
    return s


def receive(s):
    """Reads the answer on connection 's' (from send()), closes it and
    returns the decoded answer."""
    with s:
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    _, _, answer = data.partition(b"\r\n\r\n")
    return json.loads(answer)


def post(path, payload, timeout=120):
    """POSTs 'payload' to the socket at 'path' and returns the decoded
    answer."""
    return receive(send(path, payload, timeout))


def request(method, params):
    """A JSON-RPC 2.0 request object."""
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def call(path, method, params, timeout=120):
    """Calls 'method' with 'params' (the whole list, session first) and
    returns its result; raises RpcError on an error answer, OSError or
    ValueError when there is no answer to read."""
    reply = post(path, request(method, params), timeout)
    if reply.get("error"):
        raise RpcError(method, reply["error"])
    return reply["result"]


def call_batch(path, requests, timeout=600):
    """Sends (method, params) 'requests' as one batch and returns their
    results in order; raises RpcError on the first error answer."""
    replies = post(path, [{"jsonrpc": "2.0", "id": i, "method": method,
                           "params": params}
                          for i, (method, params) in enumerate(requests)],
                   timeout)
    results = []
    for (method, _), reply in zip(requests, replies):
        if reply.get("error"):
            raise RpcError(method, reply["error"])
        results.append(reply["result"])
    return results
