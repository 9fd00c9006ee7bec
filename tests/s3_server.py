"""A real S3-compatible server on 127.0.0.1 for the S3 tests, started from the tests themselves.

- `moto_s3` (session fixture): a `MotoS3`, moto's S3 server in this process on a free port, with
  `endpoint`, `env()` (AWS_* variables a child process needs: endpoint, region, dummy keys),
  `client()` (boto3), `make_bucket()` and `upload_folder()`.
- `MotoS3.with_auth(...)`: a second moto server, in a child process, that checks credentials and
  IAM policies (moto's INITIAL_NO_AUTH_ACTION_COUNT): for bad-credential and access-denied tests.
- `FaultProxy(upstream)`: an HTTP proxy in front of a server that answers a fraction of requests
  with 503 Slow Down / 503 Service Unavailable or drops the connection without an answer, and
  every request for chosen keys with 503; it counts what it injected. With delay_s it holds each
  answer that long, as a distant S3 endpoint's latency, and counts the GETs in flight.

Only moto[server] (requirements.txt) and the standard library are needed.
"""
from __future__ import annotations

import collections
import contextlib
import http.client
import http.server
import logging
import os
import pathlib
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest

REGION = "us-east-1"
DUMMY_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def aws_env(endpoint: str, keys: dict | None = None) -> dict:
    """os.environ for a child process talking to `endpoint`, without the caller's AWS settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(keys or DUMMY_KEYS)
    env.update({"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": endpoint,
                # No ~/.aws files or instance metadata lookups: tests must not reach the internet.
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true"})
    return env


class MotoS3:
    """One S3 endpoint (http://127.0.0.1:PORT) and helpers to fill it."""

    def __init__(self, endpoint: str, keys: dict | None = None):
        self.endpoint = endpoint
        self.keys = keys or DUMMY_KEYS

    def env(self, keys: dict | None = None) -> dict:
        return aws_env(self.endpoint, keys or self.keys)

    def client(self, keys: dict | None = None, endpoint: str | None = None):
        import boto3
        keys = keys or self.keys
        return boto3.client("s3", endpoint_url=endpoint or self.endpoint, region_name=REGION,
                            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"])

    def make_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def upload_folder(self, folder: pathlib.Path, bucket: str, prefix: str) -> list[str]:
        """Uploads every file under folder to s3://bucket/prefix/<relative path>; returns keys."""
        client = self.client()
        keys = []
        for path in sorted(p for p in pathlib.Path(folder).rglob("*") if p.is_file()):
            key = f"{prefix.rstrip('/')}/{path.relative_to(folder).as_posix()}".lstrip("/")
            client.upload_file(str(path), bucket, key)
            keys.append(key)
        return keys

    def keys_under(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    @staticmethod
    @contextlib.contextmanager
    def in_process():
        """moto's S3 server in this process on a free port (state reset by /moto-api/reset)."""
        from moto.server import ThreadedMotoServer
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        wait_for_port(port)
        try:
            yield MotoS3(f"http://127.0.0.1:{port}")
        finally:
            server.stop()

    @staticmethod
    @contextlib.contextmanager
    def with_auth(bucket: str, read_only_bucket: str):
        """A moto server that checks credentials and IAM policies, in a child process.

        Yields (server, admin_keys, reader_keys): `bucket` and `read_only_bucket` exist; the
        admin may do anything, the reader may list and get objects of both buckets but write
        nothing. Any other key pair gets InvalidAccessKeyId.
        """
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        # Actions before credentials are checked: the set-up calls below, made with dummy keys.
        setup_actions = 8
        env = dict(aws_env(endpoint), INITIAL_NO_AUTH_ACTION_COUNT=str(setup_actions))
        child = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            import boto3
            iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION,
                               aws_access_key_id="testing", aws_secret_access_key="testing")
            keys = {}
            for user, actions in (("admin", ["s3:*"]), ("reader", ["s3:ListBucket", "s3:GetObject",
                                                                   "s3:GetBucketLocation"])):
                iam.create_user(UserName=user)
                iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=(
                    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": %s, '
                    '"Resource": "*"}]}' % str(actions).replace("'", '"')))
                key = iam.create_access_key(UserName=user)["AccessKey"]
                keys[user] = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"],
                              "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
            server = MotoS3(endpoint, keys["admin"])
            server.make_bucket(bucket)
            server.make_bucket(read_only_bucket)
            yield server, keys["admin"], keys["reader"]
        finally:
            child.terminate()
            child.wait(10)


@pytest.fixture(scope="session")
def moto_s3():
    """moto's S3 server on 127.0.0.1 for the whole session (buckets persist between tests)."""
    with MotoS3.in_process() as server:
        yield server


SLOW_DOWN = (503, b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
                  b"<Message>Please reduce your request rate.</Message></Error>")
UNAVAILABLE = (503, b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServiceUnavailable</Code>'
                    b"<Message>Service is unable to handle request.</Message></Error>")


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of `upstream` (http://host:port) that injects faults.

    fault_rate: the share of requests answered with a fault instead of being forwarded, drawn
      from one random.Random per HTTP method seeded from seed: the n-th PUT (GET, ...) gets the
      same draw on every run, whatever order concurrent requests arrive in. The faults cycle
      through `kinds`: 503 SlowDown, 503 ServiceUnavailable and a dropped connection (closed
      without an answer).
    always_fail: substrings of a URL path (unquoted) whose requests always get 503, e.g. one key.
    delay_s: seconds every answer waits before it is sent (faults included).
    Counters: `requests`, `faults` (injected by fault_rate), `by_kind` and `faults_by_method`
      (faults per kind and per HTTP method), `always_failed`, and `gets_in_flight` (at each GET's
      arrival, how many GETs were being answered, itself included).
    """

    KINDS = ("slowdown", "unavailable", "drop")

    def __init__(self, upstream: str, fault_rate: float = 0.0, always_fail=(), seed: int = 6,
                 delay_s: float = 0.0, kinds=KINDS):
        parsed = urllib.parse.urlparse(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.fault_rate = fault_rate
        self.always_fail = tuple(always_fail)
        self.delay_s = delay_s
        self.kinds = tuple(kinds)
        self.gets_in_flight = []
        self._gets_now = 0
        self._seed = seed
        self._random_by_method = {}
        self._lock = threading.Lock()
        self.requests = 0
        self.faults = 0
        self.always_failed = 0
        self.by_kind = {kind: 0 for kind in self.KINDS}
        self.faults_by_method = collections.Counter()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _decide(self, method: str, path: str) -> str | None:
        with self._lock:
            self.requests += 1
            if any(s in urllib.parse.unquote(path) for s in self.always_fail):
                self.always_failed += 1
                return "unavailable"
            draws = self._random_by_method.setdefault(method, random.Random(f"{self._seed}-{method}"))
            if draws.random() < self.fault_rate:
                kind = self.kinds[self.faults % len(self.kinds)]
                self.faults += 1
                self.by_kind[kind] += 1
                self.faults_by_method[method] += 1
                return kind
        return None

    def _handler_class(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as S3 clients expect

            def log_message(self, *args):
                pass

            def _read_body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    # The AWS SDK streams uploads this way (with Content-Encoding: aws-chunked
                    # inside, forwarded as it is). The last chunk, "0", has no data and no CRLF of
                    # its own: the optional trailers follow, ended by a blank line.
                    body = b""
                    while (size := int(self.rfile.readline().split(b";")[0], 16)) > 0:
                        body += self.rfile.read(size)
                        self.rfile.readline()  # the CRLF after the chunk's data
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                return self.rfile.read(int(self.headers.get("Content-Length", 0)))

            def _answer(self, status: int, headers, body: bytes) -> None:
                self.send_response_only(status)
                length = str(len(body))
                for name, value in headers:
                    if name.lower() == "content-length" and self.command == "HEAD":
                        length = value  # the object's size, without its bytes
                    elif name.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", length)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                if self.command != "GET":
                    return self._forward()
                with proxy._lock:
                    proxy._gets_now += 1
                    proxy.gets_in_flight.append(proxy._gets_now)
                try:
                    self._forward()
                finally:
                    with proxy._lock:
                        proxy._gets_now -= 1

            def _forward(self) -> None:
                body = self._read_body()
                fault = proxy._decide(self.command, self.path)
                time.sleep(proxy.delay_s)
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault is not None:
                    status, text = SLOW_DOWN if fault == "slowdown" else UNAVAILABLE
                    self._answer(status, [("Content-Type", "application/xml")], text)
                    return
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    upstream.putrequest(self.command, self.path, skip_host=True,
                                        skip_accept_encoding=True)
                    for name, value in self.headers.items():
                        # The body is read already: no "Expect: 100-continue" handshake upstream.
                        if name.lower() not in ("transfer-encoding", "content-length", "connection",
                                                "expect"):
                            upstream.putheader(name, value)
                    upstream.putheader("Content-Length", str(len(body)))
                    upstream.endheaders(body)
                    response = upstream.getresponse()
                    self._answer(response.status, response.getheaders(), response.read())
                finally:
                    upstream.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler
