"""Starting and talking to `pomona serve` in the tests and bench/serve_bench.py."""
import http.client
import json
import signal
import subprocess
import time


class Server:
    """`pomona serve INDEX --port 0 ...` as a child process; .port once it listens."""

    def __init__(self, pomona_bin, index, *args):
        self.process = subprocess.Popen([str(pomona_bin), "serve", str(index), "--port", "0",
                                         *map(str, args)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if "listening on http://" not in line:
            self.process.kill()
            raise AssertionError(f"no listening line: {line!r} {self.process.stderr.read()}")
        self.host, port = line.strip().rsplit("/", 1)[-1].split(":")
        self.port = int(port)

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.process.stderr.read()}")
            if request(self.port, "GET", "/readyz")[0] == 200:
                return self
            time.sleep(0.05)
        raise AssertionError("server not ready in time")

    def signal(self, sig):
        self.process.send_signal(sig)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def request(port, method, path, body=None, headers=None, timeout=30):
    """(status, headers dict, body bytes) of one request on a fresh connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    except ConnectionError:
        return None, {}, b""
    finally:
        connection.close()


def classify(port, image_bytes, **kwargs):
    status, headers, body = request(port, "POST", "/v1/classify", image_bytes,
                                    {"Content-Type": "image/jpeg"}, **kwargs)
    return status, headers, json.loads(body) if body else None


def multipart(fields):
    """A multipart/form-data body of {name: (filename, bytes)}; returns (body, content type)."""
    boundary = "pomona-test-boundary-7d1f"
    parts = []
    for name, (filename, data) in fields.items():
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                     f"filename=\"{filename}\"\r\nContent-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
