// serve/: the HTTP face of the classifier (pomona/classify.h), on cpp-httplib.
//
// Routes: POST /v1/classify (a raw JPEG/PNG body, or multipart/form-data with a field `image`)
// answers {predictions: [{label, score, info}], unknown, index_version, timing_ms: {decode,
// network, classify}}; GET / is a self-contained page for phones; GET /healthz (the process
// answers), /readyz (503 until the network and index are loaded), /metrics (Prometheus text),
// /openapi.json (the API's OpenAPI 3 description). Every bad request is a 4xx JSON
// {"error": "..."} naming the problem, and the server keeps serving.
//
// Concurrency: `threads` workers, each with its own single-threaded network (ChunkFeaturizer),
// take requests from one queue of `queue` places. Admission bounds the wait by design
// (serve/work_queue.h): a request is queued only while the wait it can expect (the jobs ahead of
// it over the networks, times the workers' recent time per job) stays within the wait budget
// `max_wait_ms`, and one that waited its turn past the budget after all is shed unrun by the
// worker that takes it (one that found a network free never is). Either way, and on a full queue,
// the answer is 503 with Retry-After at once. The default budget is the network's time for one
// image, measured at start-up: an answered request waited at most about one image's work.
// Connections are served by `connection_threads` threads (cpp-httplib's pool), which only read,
// wait and write; each open connection holds one, and connections beyond them wait unseen, without
// bound, before their request is even read: hence a pool well above the clients expected at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "pomona/classify.h"

namespace pomona {

struct ServeOptions {
  std::string index;    // index file (pomona index); reloaded from the same path on SIGHUP
  std::string weights;  // "" = Keras' cache for the index's alpha and size
  std::string host = "127.0.0.1";
  int port = 8080;             // 0 = any free port (printed when listening)
  int threads = 0;             // networks (one per core); 0 = all cores
  int queue = 0;               // places for requests waiting for a network; 0 = 4 x threads
  double max_wait_ms = 0;      // wait budget for a network; 0 = the network's time per image
                               // (timed at start-up)
  int connection_threads = 0;  // 0 = max(128, 16 x threads)
  int top_k = 3;
  ClassifyMethod method = ClassifyMethod::kNearestClassMean;
  int64_t max_body_bytes = 16 << 20;    // larger bodies: 413
  int64_t max_header_bytes = 16 << 10;  // all header lines together; larger: 431 (one line is
                                        // also bounded by cpp-httplib's 8 KiB)
  double read_timeout_s = 5;            // a client silent this long while sending is dropped
  double receive_timeout_s = 30;        // one request's headers and body must arrive within
                                        // this (from its first byte); else the connection is cut
  double request_timeout_s = 10;        // queue wait + work; longer: 503 (the work is abandoned)
  int retry_after_s = 1;                // Retry-After of a 503 for load
};

// Binds host:port, prints "pomona: listening on http://HOST:PORT" to stdout, then loads the
// network and index and times the network (readyz turns 200), and serves until SIGTERM or SIGINT,
// after which it stops accepting, finishes the requests in flight and returns. SIGHUP reloads
// options.index: requests already taken finish on the old index, later ones use the new one; an
// index that fails to load or was built with other weights is refused (logged, counted) and the old
// one stays. Throws JobError when it cannot bind, or the first load fails (bad index, other
// weights).
void serve(const ServeOptions& options);

}  // namespace pomona
