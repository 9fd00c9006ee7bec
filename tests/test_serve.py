"""End-to-end: `pomona serve` — answers, metrics, a table of hostile requests (each a 4xx JSON or a
dropped connection, /healthz answering after each), bounded fuzzing (mutated bodies, and
schemathesis against the OpenAPI description the server serves), reload under load (wrk + checking clients, 10 swaps, no failures, only versions that
existed), shedding with 503 + Retry-After, and SIGTERM draining."""
import hashlib
import json
import os
import pathlib
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from classify_fixtures import fruit_index, fruit_photos, network_args, split  # noqa: F401
from helpers import run_pomona
from serve_helpers import Server, classify, multipart, request


RECEIVE_TIMEOUT_S = 3  # the module's server: a request must arrive within 3 s, with 1 s read timeout


@pytest.fixture(scope="module")
def server(pomona_bin, fruit_index, split):
    with Server(pomona_bin, fruit_index, "--weights", split.weights, "--threads", "2",
                "--read-timeout", "1", "--receive-timeout", RECEIVE_TIMEOUT_S,
                "--max-body-bytes", 4 << 20) as s:
        yield s.wait_ready()


@pytest.fixture(scope="module")
def photo(split):
    with open(split.test_paths[0], "rb") as f:
        return f.read()


def test_classify_answers_raw_and_multipart_alike(server, photo, split):
    status, _, raw = classify(server.port, photo)
    assert status == 200
    assert set(raw) == {"predictions", "unknown", "index_version", "timing_ms"}
    assert set(raw["timing_ms"]) == {"decode", "network", "classify"}
    assert len(raw["predictions"]) == 3 and raw["predictions"][0]["label"] in split.known
    body, content_type = multipart({"image": ("photo.jpg", photo)})
    status, _, form = request(server.port, "POST", "/v1/classify", body, {"Content-Type": content_type})
    assert status == 200
    assert json.loads(form)["predictions"] == raw["predictions"]
    status, _, ready = request(server.port, "GET", "/readyz")
    assert status == 200 and json.loads(ready)["index_version"] == raw["index_version"]


def test_metrics_count_requests_and_stages(server, photo):
    classify(server.port, photo)
    request(server.port, "GET", "/nowhere")
    status, headers, body = request(server.port, "GET", "/metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert 'pomona_requests_total{route="/v1/classify",status="200"}' in text
    assert 'pomona_requests_total{route="other",status="404"}' in text
    for stage in ("queue", "decode", "network", "classify", "total"):
        count = int(text.split(f'pomona_stage_seconds_count{{stage="{stage}"}} ')[1].split()[0])
        assert count >= 1
    assert "pomona_queue_depth 0" in text and "pomona_queue_capacity 8" in text  # 4 per network
    # The wait budget defaults to the network's time per image, timed at start-up.
    budget = float(text.split("\npomona_wait_budget_seconds ")[1].split()[0])
    assert 0 < budget < 5
    assert 'pomona_shed_total{reason="over_budget"}' in text
    assert 'pomona_index_info{version="' in text


def png_header_only(width, height):
    """A PNG whose header declares width x height, with one tiny IDAT: a decompression bomb's
    signature, refused from the header."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def raw_exchange(port, data, pause=0.0, chunks=1, read=True):
    """Sends data over a raw socket (in `chunks` pieces, `pause` s apart); returns the status
    line's code, or None when the server closed without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        step = max(1, len(data) // chunks)
        try:
            for i in range(0, len(data), step):
                s.sendall(data[i:i + step])
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if not read:
            return None
        try:
            head = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            return None
        return int(head.split()[1]) if head.startswith(b"HTTP/") else None


def trickle(port, head, give_up_s=15):
    """Sends head, then one byte every 0.4 s (well inside the read timeout), until the server
    closes the connection; returns the seconds from the first byte until then (None: never)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        started = time.time()
        s.sendall(head)
        while time.time() - started < give_up_s:
            if select.select([s], [], [], 0.4)[0]:
                try:
                    if not s.recv(4096):
                        return time.time() - started
                except ConnectionResetError:
                    return time.time() - started
            try:
                s.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                return time.time() - started
        return None


def hostile_cases(photo):
    big_headers = "".join(f"X-Pad-{i}: {'a' * 4000}\r\n" for i in range(6))
    garbage_form, _ = multipart({"image": ("x.jpg", photo)})
    post = lambda body, ctype="image/jpeg": ("POST", "/v1/classify", body, {"Content-Type": ctype})
    return [
        ("empty body", post(b""), {400}, "empty image"),
        ("not an image (text)", post(b"hello, I am not a photo" * 10), {422}, "not a usable image"),
        ("truncated JPEG", post(photo[: len(photo) // 3]), {422}, "not a usable image"),
        ("decompression bomb (PNG declaring 20000x20000)", post(png_header_only(20000, 20000)),
         {422}, "decompression bomb"),
        ("GIF (unsupported format)", post(b"GIF89a" + bytes(200)), {422}, "not a usable image"),
        ("garbage multipart", post(garbage_form[40:-30], "multipart/form-data; boundary=pomona-test-boundary-7d1f"),
         {400}, "bad request"),
        ("multipart without the field 'image'", post(*multipart({"photo": ("x.jpg", photo)})), {400},
         "no field 'image'"),
        ("multipart without boundary", post(b"--x\r\n\r\n", "multipart/form-data"), {400}, ""),
        ("wrong method: GET /v1/classify", ("GET", "/v1/classify", None, {}), {405}, "use POST"),
        ("wrong method: DELETE /healthz", ("DELETE", "/healthz", None, {}), {405}, "use GET, HEAD"),
        ("wrong method: TRACE /healthz", ("TRACE", "/healthz", None, {}), {405}, "use GET, HEAD"),
        ("wrong method: OPTIONS /v1/classify", ("OPTIONS", "/v1/classify", None, {}), {405}, "use POST"),
        ("unknown method: BREW /v1/classify", ("BREW", "/v1/classify", None, {}), {405}, "use POST"),
        ("wrong path: POST /v2/classify", ("POST", "/v2/classify", photo, {}), {404}, "no route"),
        ("URI of 10 KB", ("GET", "/" + "a" * 10000, None, {}), {414}, ""),
        ("headers of 24 KB (6 lines of 4 KB)", ("RAW", f"GET /healthz HTTP/1.1\r\nHost: x\r\n{big_headers}\r\n".encode()),
         {431}, ""),
        ("one header line of 9 KB", ("RAW", f"GET /healthz HTTP/1.1\r\nX-Long: {'b' * 9000}\r\n\r\n".encode()),
         {400}, ""),
        ("100 MB body (Content-Length 104857600)",
         ("RAW", b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                 b"Content-Length: 104857600\r\n\r\n" + bytes(1 << 20)), {413}, ""),
        ("slowloris: headers a byte every 0.1 s, then silence past the read timeout",
         ("SLOW", b"POST /v1/classify HTTP/1.1\r\nX-Slow: 1\r\n"), {None, 400}, ""),
        ("slowloris: headers a byte every 0.4 s, for ever (each read inside the read timeout)",
         ("TRICKLE", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "), {None}, ""),
        ("slow body: a byte every 0.4 s, for ever",
         ("TRICKLE", b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                     b"Content-Length: 100000\r\n\r\n"), {None}, ""),
        ("body shorter than its Content-Length, then silence",
         ("RAW", b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + photo[:100]),
         {None, 400}, ""),
        ("not HTTP at all", ("RAW", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64) + b"\r\n\r\n"),
         {None, 400}, ""),
    ]


def test_hostile_requests_get_4xx_json_and_the_server_keeps_serving(server, photo, build_dir):
    rows = []
    for name, (method, *rest), statuses, says in hostile_cases(photo):
        started = time.time()
        if method == "RAW":
            status = raw_exchange(server.port, rest[0])
            body = b""
        elif method == "TRICKLE":
            status, body = None, b""
            cut_off_after = trickle(server.port, rest[0])
            # Cut off at the receive timeout, give or take one read (1 s) and a loaded machine.
            assert cut_off_after is not None and RECEIVE_TIMEOUT_S - 0.5 < cut_off_after < RECEIVE_TIMEOUT_S + 2.5, (name, cut_off_after)
        elif method == "SLOW":
            status = raw_exchange(server.port, rest[0], pause=0.1, chunks=len(rest[0]))
            body = b""
        else:
            path, data, headers = rest
            status, answer_headers, body = request(server.port, method, path, data, headers)
            if status == 405:  # the methods the route takes
                assert answer_headers["Allow"] == says.removeprefix("use "), (name, answer_headers)
        seconds = time.time() - started
        health = request(server.port, "GET", "/healthz")[0]
        rows.append((name, status, health, round(seconds, 2)))
        assert status in statuses, (name, status, body)
        if body:
            assert says in json.loads(body)["error"], (name, body)
        assert health == 200, name
    ok, _, answer = classify(server.port, photo)
    assert ok == 200 and answer["predictions"]
    table = "| hostile request | status | /healthz after | seconds |\n| --- | --- | --- | --- |\n" + "".join(
        f"| {name} | {status if status else 'connection closed'} | {health} | {s} |\n"
        for name, status, health, s in rows)
    (build_dir / "serve_hostile.md").write_text(table)
    print(table)
    assert len(rows) >= 12


def test_bounded_fuzz_of_the_request_path(server, photo):
    """1,000 requests mutated from valid ones (bytes flipped, cut, spliced; random methods, paths
    and content types), seeded: every answer is a status below 500 with a JSON error or answer,
    and the server answers /healthz at the end."""
    rng = random.Random(19)
    form, form_type = multipart({"image": ("x.jpg", photo)})
    seeds = [(photo, "image/jpeg"), (form, form_type), (png_header_only(64, 64), "image/png")]
    for i in range(1000):
        body, ctype = rng.choice(seeds)
        body = bytearray(body)
        for _ in range(rng.randint(1, 8)):
            op = rng.random()
            at = rng.randrange(len(body)) if body else 0
            if op < 0.5 and body:
                body[at] = rng.randrange(256)
            elif op < 0.7:
                del body[at:at + rng.randint(1, 400)]
            elif op < 0.85:
                body[at:at] = rng.randbytes(rng.randint(1, 64))
            else:
                body = body[:at]
        if rng.random() < 0.1:
            ctype = rng.choice(["", "multipart/form-data; boundary=x", "text/plain", "image/png"])
        method = "POST" if rng.random() < 0.9 else rng.choice(["GET", "PUT", "PATCH"])
        path = "/v1/classify" if rng.random() < 0.9 else rng.choice(["/", "/v1/", "/v1/classify?x=1", "/%00"])
        status, _, answer = request(server.port, method, path, bytes(body), {"Content-Type": ctype} if ctype else {})
        assert status is not None and status < 500, (i, status, answer)
        if path.startswith("/v1/classify") and method == "POST":
            assert "error" in json.loads(answer) or "predictions" in json.loads(answer)
    assert request(server.port, "GET", "/healthz")[0] == 200


def test_schemathesis_against_the_served_openapi_description(server, tmp_path):
    """Schemathesis (seeded, 100 examples per operation) generates requests from /openapi.json:
    no 5xx, and every status, content type, header and JSON body as the description says."""
    st = pathlib.Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [str(st), "run", f"http://127.0.0.1:{server.port}/openapi.json", "--seed", "19",
         "--max-examples", "100", "--checks", "not_a_server_error,status_code_conformance,"
         "content_type_conformance,response_schema_conformance,response_headers_conformance"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "No issues found" in result.stdout
    assert request(server.port, "GET", "/healthz")[0] == 200


def big_photo():
    """A 4000x3000 noise JPEG: tens of milliseconds of decoding per request, so twelve clients
    released together always find one network and a queue of one busy, however loaded the machine."""
    import io
    import numpy as np
    from PIL import Image
    pixels = np.random.default_rng(7).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=95)
    return out.getvalue()


def twelve_at_once(port, body):
    """Twelve clients POST body together; their answers, and the server's shed counts by reason."""
    results = []
    start = threading.Barrier(12)
    def client():
        start.wait()
        results.append(request(port, "POST", "/v1/classify", body))
    clients = [threading.Thread(target=client) for _ in range(12)]
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    text = request(port, "GET", "/metrics")[2].decode()
    shed = {reason: int(text.split(f'pomona_shed_total{{reason="{reason}"}} ')[1].split()[0])
            for reason in ("full", "over_budget", "overdue", "timeout")}
    return results, shed


def test_full_queue_sheds_with_503_and_retry_after(pomona_bin, fruit_index, split):
    with Server(pomona_bin, fruit_index, "--weights", split.weights, "--threads", "1",
                "--queue", "1") as s:
        results, shed = twelve_at_once(s.wait_ready().port, big_photo())
        statuses = sorted(r[0] for r in results)
        assert 200 in statuses and 503 in statuses, statuses
        assert set(statuses) <= {200, 503}
        shed_answer = next(r for r in results if r[0] == 503)
        assert shed_answer[1]["Retry-After"] == "1" and "busy" in json.loads(shed_answer[2])["error"]
        assert sum(shed.values()) == statuses.count(503) and shed["timeout"] == 0, shed


@pytest.mark.parametrize("max_wait_ms", [20, 60000])
def test_the_wait_budget_not_the_places_decides_who_waits(pomona_bin, fruit_index, split, max_wait_ms):
    """Places for all twelve (--queue 100), one network, images of tens of ms each: a budget of
    a minute lets every request wait its turn (however slow a loaded machine makes them: no
    request time limit to speak of either); one of 20 ms sheds those whose expected wait exceeds
    it at once, and those that waited past it unrun: never for want of a place."""
    with Server(pomona_bin, fruit_index, "--weights", split.weights, "--threads", "1",
                "--queue", "100", "--max-wait-ms", max_wait_ms, "--request-timeout", 600) as s:
        results, shed = twelve_at_once(s.wait_ready().port, big_photo())
    statuses = sorted(r[0] for r in results)
    if max_wait_ms == 60000:
        assert statuses == [200] * 12 and sum(shed.values()) == 0, (statuses, shed)
        return
    assert 200 in statuses and 503 in statuses and set(statuses) <= {200, 503}, statuses
    assert shed["full"] == 0 and shed["timeout"] == 0, shed
    assert shed["over_budget"] + shed["overdue"] == statuses.count(503), shed
    for status, headers, body in results:
        if status == 503:
            assert headers["Retry-After"] == "1", headers
            assert "wait budget of 20.000 ms" in json.loads(body)["error"], body


def test_unknown_method_is_answered_once_and_its_unread_bytes_are_no_further_request(server):
    """cpp-httplib stops reading an unknown method's request at its request line: the 405 closes
    the connection, and the body that follows (here a whole GET, sent once the 405 is in, so that
    the server reads it apart) is discarded, not answered as a further request."""
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as s:
        s.sendall(b"BREW /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(smuggled))
        answers = s.recv(65536)
        while b"\r\n\r\n" not in answers:
            answers += s.recv(65536)
        started = time.time()
        s.sendall(smuggled)
        while chunk := s.recv(65536):
            answers += chunk
    assert answers.startswith(b"HTTP/1.1 405 ") and answers.count(b"HTTP/1.1 ") == 1, answers
    assert b"Connection: close" in answers
    assert time.time() - started < 4  # closed on reading the discarded bytes, not after keep-alive's 5 s


def test_reload_under_load_swaps_ten_times_without_a_failed_request(pomona_bin, split, fruit_index, tmp_path):
    table = pq.read_table(split.features)
    extra = tmp_path / "extra.parquet"
    pq.write_table(table.filter(pc.equal(table["label"], split.unseen[0])).slice(0, 5), extra)
    index_b = tmp_path / "b.index.parquet"
    run_pomona(pomona_bin, "index", extra, index_b, "--merge-with", fruit_index, *network_args(split.weights))
    served = tmp_path / "served.index.parquet"
    shutil.copyfile(fruit_index, served)
    photo_path = split.test_paths[2]
    with Server(pomona_bin, served, "--weights", split.weights, "--threads", "2", "--queue", "32",
                "--max-wait-ms", "60000") as s:  # reloading, not shedding: 4 clients all wait their turn
        s.wait_ready()
        versions = {json.loads(request(s.port, "GET", "/readyz")[2])["index_version"]}
        stop = threading.Event()
        seen, failures = [], []
        with open(photo_path, "rb") as f:
            photo = f.read()
        def client():
            while not stop.is_set():
                status, _, answer = classify(s.port, photo)
                (seen if status == 200 else failures).append(answer["index_version"] if status == 200 else status)
        lua = tmp_path / "post.lua"
        lua.write_text(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "image/jpeg"\n'
                       f'local f = io.open("{photo_path}", "rb")\nwrk.body = f:read("*a")\nf:close()\n')
        wrk = subprocess.Popen(["wrk", "-t", "1", "-c", "2", "-d", "30s", "-s", str(lua),
                                f"http://127.0.0.1:{s.port}/v1/classify"],
                               stdout=subprocess.PIPE, text=True) if shutil.which("wrk") else None
        clients = [threading.Thread(target=client) for _ in range(2)]
        for c in clients:
            c.start()
        for swap in range(10):
            source = index_b if swap % 2 == 0 else fruit_index
            tmp = served.with_suffix(".tmp")
            shutil.copyfile(source, tmp)
            os.replace(tmp, served)
            s.signal(signal.SIGHUP)
            expected = hashlib.sha256(source.read_bytes()).hexdigest()[:16]  # the index's version
            deadline = time.time() + 20
            while json.loads(request(s.port, "GET", "/readyz")[2])["index_version"] != expected:
                assert time.time() < deadline, f"swap {swap} not served"
                time.sleep(0.02)
            versions.add(expected)
            time.sleep(0.3)
        stop.set()
        for c in clients:
            c.join()
        wrk_out = ""
        if wrk:
            wrk.send_signal(signal.SIGINT)
            wrk_out = wrk.communicate(timeout=30)[0]
        metrics = request(s.port, "GET", "/metrics")[2].decode()
    assert len(versions) == 2, versions  # A and B, alternating
    assert 'pomona_index_reloads_total{result="ok"} 10' in metrics
    assert not failures, failures[:5]
    assert seen and set(seen) <= versions
    assert len(set(seen)) == 2
    if wrk:
        assert "Non-2xx" not in wrk_out and "Socket errors" not in wrk_out, wrk_out
        assert 'pomona_requests_total{route="/v1/classify",status="503"}' not in metrics


def test_refuses_an_index_of_other_weights_and_keeps_the_old_on_reload(pomona_bin, split, fruit_index, tmp_path):
    other = tmp_path / "other.h5"
    other.write_bytes(split.weights.read_bytes() + b"\0")
    result = subprocess.run([str(pomona_bin), "serve", str(fruit_index), "--port", "0", "--weights", str(other)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "are not the ones the index was built with" in result.stderr.strip().splitlines()[-1]
    served = tmp_path / "served.parquet"
    shutil.copyfile(fruit_index, served)
    with Server(pomona_bin, served, "--weights", split.weights, "--threads", "1") as s:
        s.wait_ready()
        before = json.loads(request(s.port, "GET", "/readyz")[2])["index_version"]
        served.write_bytes(b"not parquet")
        s.signal(signal.SIGHUP)
        time.sleep(1)
        assert json.loads(request(s.port, "GET", "/readyz")[2])["index_version"] == before
        assert 'pomona_index_reloads_total{result="failed"} 1' in request(s.port, "GET", "/metrics")[2].decode()


def test_sigterm_finishes_requests_in_flight_then_exits(pomona_bin, fruit_index, split, photo):
    s = Server(pomona_bin, fruit_index, "--weights", split.weights, "--threads", "1", "--queue", "8",
               "--max-wait-ms", "60000")  # draining, not shedding
    s.wait_ready()
    results = []
    clients = [threading.Thread(target=lambda: results.append(classify(s.port, photo)[0])) for _ in range(6)]
    for c in clients:
        c.start()
    time.sleep(0.05)
    s.signal(signal.SIGTERM)
    for c in clients:
        c.join()
    assert s.process.wait(timeout=30) == 0
    # Those accepted before SIGTERM were answered; later ones found the port closed.
    assert 200 in results and set(results) <= {200, None}, results
