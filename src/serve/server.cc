// serve() (include/pomona/serve.h): routes, limits, the bounded queue, signals.
// cpp-httplib, compiled here from its header-only httplib.h: its thread pool waits through
// condition_wait.h's binding; before each recv() of a connection it asks receive_flags (the
// per-request receive deadline); poll() rather than select(), which fails sockets >= FD_SETSIZE.
#include "pomona/condition_wait.h"
#include "receive_deadline.h"
#define CPPHTTPLIB_RECV_FLAGS ::pomona::serving::receive_flags(sock_)
#define CPPHTTPLIB_USE_POLL
#include <httplib.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "metrics.h"
#include "page.h"
#include "pomona/error.h"
#include "pomona/model.h"
#include "pomona/serve.h"
#include "work_queue.h"

namespace pomona {
namespace {

using httplib::Request;
using httplib::Response;
using serving::Admission;
using serving::Clock;
using serving::Job;
using serving::Stage;

constexpr const char* kJson = "application/json";
constexpr const char* kRoutes =
    "GET /, POST /v1/classify, GET /healthz, GET /readyz, GET /metrics, GET /openapi.json";

std::string error_json(const std::string& message) {
  return "{\"error\": " + json_quote(message) + "}\n";
}

void reply_error(Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(error_json(message), kJson);
}

std::string route_of(const std::string& path) {
  for (const char* route :
       {"/", "/v1/classify", "/healthz", "/readyz", "/metrics", "/openapi.json"}) {
    if (path == route) return route;
  }
  return "other";
}

template <typename Duration = std::chrono::microseconds>
Duration seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

// cpp-httplib's thread pool, each connection served inside a ConnectionScope: a request may take
// receive_timeout_s to arrive (serve/receive_deadline.h).
class ConnectionPool : public httplib::TaskQueue {
 public:
  ConnectionPool(size_t threads, Clock::duration receive_limit)
      : pool_(threads), receive_limit_(receive_limit) {}
  void enqueue(std::function<void()> serve_connection) override {
    pool_.enqueue([serve_connection = std::move(serve_connection), limit = receive_limit_] {
      serving::ConnectionScope scope(limit);
      serve_connection();
    });
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
  const Clock::duration receive_limit_;
};

// A method `path` does not take: 405 with Allow on one of the routes, 404 elsewhere.
void refuse_method(const std::string& method, const std::string& path, Response& res) {
  const std::string route = route_of(path);
  if (route == "other") {
    return reply_error(res, 404, "no route " + path + " (routes: " + kRoutes + ")");
  }
  const char* allowed = route == "/v1/classify" ? "POST" : "GET, HEAD";
  res.set_header("Allow", allowed);
  reply_error(res, 405, method + " is not allowed on " + route + ": use " + allowed);
}

// A well-formed request line whose method is none that a route takes or cpp-httplib routes.
bool is_other_method(const Request& req) {
  static const std::set<std::string> routed = {"GET",    "HEAD",  "POST",   "PUT",
                                               "DELETE", "PATCH", "OPTIONS"};
  if (req.method.empty() || routed.contains(req.method)) return false;
  if (req.version != "HTTP/1.1" && req.version != "HTTP/1.0") return false;
  return std::all_of(req.method.begin(), req.method.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; });
}

std::string ms(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", value);
  return text;
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The network's time per image alone: the fastest of 5 runs after a first one (which builds its
// plan), on the calling thread, single-threaded as the workers run it.
Clock::duration time_network(const FeatureExtractor& extractor) {
  set_compute_threads(1);
  const auto context = extractor.new_context();
  const int size = extractor.spec().size;
  std::vector<float> input(static_cast<size_t>(size) * size * 3, 0.5f);
  std::vector<float> features(extractor.feature_dim());
  auto fastest = Clock::duration::max();
  for (int run = 0; run < 6; ++run) {
    const auto start = Clock::now();
    extractor.extract(*context, input.data(), 1, features.data());
    if (run > 0) fastest = std::min(fastest, Clock::now() - start);
  }
  return fastest;
}

class Server {
 public:
  explicit Server(const ServeOptions& options)
      : options_(options),
        threads_(options.threads > 0 ? options.threads
                                     : std::max(1u, std::thread::hardware_concurrency())),
        queue_places_(options.queue > 0 ? options.queue : 4 * threads_) {
    metrics_.set_queue(0, queue_places_);
  }

  void run();

 private:
  void add_routes();
  void classify(const Request& req, Response& res);
  void work(const IndexNetwork& network);
  void refuse_busy(Response& res, Admission why, Clock::duration expected_wait);
  // 503 with Retry-After: every answer that asks the client to come back later.
  void reply_busy(Response& res, const std::string& message) {
    res.set_header("Retry-After", std::to_string(options_.retry_after_s));
    reply_error(res, 503, message);
  }
  std::shared_ptr<const ClassIndex> current_index() {
    std::lock_guard lock(index_mutex_);
    return index_;
  }
  void set_index(std::shared_ptr<const ClassIndex> index) {
    metrics_.set_index_version(index->version());
    std::lock_guard lock(index_mutex_);
    index_ = std::move(index);
  }
  void reload();

  const ServeOptions options_;
  const int threads_;
  const int queue_places_;
  std::unique_ptr<serving::WorkQueue> queue_;  // once the network is timed; before ready_
  serving::Metrics metrics_;
  httplib::Server http_;
  std::atomic<bool> ready_{false};
  std::mutex index_mutex_;
  std::shared_ptr<const ClassIndex> index_;
};

void Server::classify(const Request& req, Response& res) {
  const auto start = Clock::now();
  if (!ready_) return reply_busy(res, "not ready: the network and index are still loading");
  const std::string* bytes = &req.body;
  std::string field;
  if (req.is_multipart_form_data()) {
    if (!req.has_file("image")) {
      return reply_error(res, 400,
                         "the multipart body has no field 'image': send the photo in a field "
                         "named image");
    }
    field = req.get_file_value("image").content;
    bytes = &field;
  }
  if (bytes->empty()) {
    return reply_error(res, 400,
                       "empty image: send a JPEG or PNG as the body, or as the multipart field "
                       "'image'");
  }
  auto job = std::make_shared<Job>();
  job->bytes = *bytes;
  Clock::duration expected_wait{};
  const Admission admission = queue_->try_push(job, Clock::now(), &expected_wait);
  if (admission != Admission::kAdmitted) return refuse_busy(res, admission, expected_wait);
  const auto deadline = start + seconds<Clock::duration>(options_.request_timeout_s);
  std::unique_lock lock(job->mutex);
  if (!job->done.wait_until(lock, deadline, [&] { return job->finished; })) {
    job->abandoned = true;
    metrics_.count_shed("timeout");
    return reply_busy(res, "timed out: no answer within the request time limit of " +
                               ms(options_.request_timeout_s) + " s");
  }
  if (job->shed) {
    metrics_.count_shed("overdue");
    return reply_busy(res, "busy: waited past the wait budget of " + ms(ms(queue_->max_wait())) +
                               " ms for a network; retry shortly");
  }
  const ImageAnswer& answer = job->answer;
  if (answer.error) {
    const bool internal = answer.error->starts_with("internal error");
    return reply_error(res, internal ? 500 : 422,
                       internal ? *answer.error : "not a usable image: " + *answer.error);
  }
  const double total_ms = ms(Clock::now() - start);
  metrics_.observe(Stage::kQueue, ms(job->started_at - job->queued_at) / 1000);
  metrics_.observe(Stage::kDecode, answer.prepare_ms / 1000);
  metrics_.observe(Stage::kNetwork, answer.network_ms / 1000);
  metrics_.observe(Stage::kClassify, answer.classify_ms / 1000);
  metrics_.observe(Stage::kTotal, total_ms / 1000);
  res.set_content("{" + answer_json_members(answer.answer) +
                      ", \"index_version\": " + json_quote(job->index_version) +
                      ", \"timing_ms\": {\"decode\": " + ms(answer.prepare_ms) + ", \"network\": " +
                      ms(answer.network_ms) + ", \"classify\": " + ms(answer.classify_ms) + "}}\n",
                  kJson);
}

// A full queue, or a wait longer than the budget: 503 at once, with Retry-After.
void Server::refuse_busy(Response& res, Admission why, Clock::duration expected_wait) {
  if (why == Admission::kOverBudget) {
    metrics_.count_shed("over_budget");
    return reply_busy(res, "busy: the expected wait for a network, " + ms(ms(expected_wait)) +
                               " ms, exceeds the wait budget of " + ms(ms(queue_->max_wait())) +
                               " ms; retry shortly");
  }
  metrics_.count_shed("full");
  reply_busy(res, "busy: " + std::to_string(threads_) + " networks and " +
                      std::to_string(queue_->capacity()) +
                      " queue places are taken; retry shortly");
}

void Server::work(const IndexNetwork& network) {
  const auto featurizer = network.new_featurizer();
  while (auto job = queue_->pop()) {
    const auto started = Clock::now();
    {
      std::lock_guard lock(job->mutex);
      if (job->abandoned) {
        queue_->finish(std::nullopt);
        continue;
      }
      // Waited past the budget after all (the work got slower since it was admitted): shed it
      // unrun, so that no answered request waited longer.
      if (queue_->overdue(*job, started)) {
        job->shed = job->finished = true;
        queue_->finish(std::nullopt);
        job->done.notify_one();
        continue;
      }
      job->started_at = started;
    }
    // Taken now: a reload from here on does not change this request's index.
    const auto index = current_index();
    const BatchInput input{
        "request", "",
        std::span(reinterpret_cast<const uint8_t*>(job->bytes.data()), job->bytes.size())};
    ImageAnswer answer;
    try {
      answer = std::move(
          classify_images(*featurizer, *index, {&input, 1}, options_.method, options_.top_k)
              .front());
    } catch (const std::exception& e) {
      answer.error = std::string("internal error: ") + e.what();
    }
    queue_->finish(Clock::now() - started);
    {
      std::lock_guard lock(job->mutex);
      job->answer = std::move(answer);
      job->index_version = index->version();
      job->finished = true;
    }
    job->done.notify_one();
  }
}

void Server::add_routes() {
  http_.Post("/v1/classify", [this](const Request& req, Response& res) { classify(req, res); });
  http_.Get("/", [](const Request&, Response& res) {
    res.set_content(serving::kPageHtml, "text/html; charset=utf-8");
  });
  http_.Get("/openapi.json",
            [](const Request&, Response& res) { res.set_content(serving::kOpenApiJson, kJson); });
  http_.Get("/healthz",
            [](const Request&, Response& res) { res.set_content("{\"ok\": true}\n", kJson); });
  http_.Get("/readyz", [this](const Request&, Response& res) {
    if (!ready_) return reply_error(res, 503, "loading the network and index");
    res.set_content(
        "{\"ready\": true, \"index_version\": " + json_quote(current_index()->version()) + "}\n",
        kJson);
  });
  http_.Get("/metrics", [this](const Request&, Response& res) {
    if (ready_) {
      metrics_.set_queue(static_cast<int64_t>(queue_->depth()), queue_places_);
      metrics_.set_wait(ms(queue_->max_wait()) / 1000, ms(queue_->per_job()) / 1000);
    }
    res.set_content(metrics_.render(), "text/plain; version=0.0.4");
  });
  const auto wrong_method = [](const Request& req, Response& res) {
    refuse_method(req.method, req.path, res);
  };
  http_.Get("/v1/classify", wrong_method);
  for (const char* path : {"/", "/openapi.json", "/healthz", "/readyz", "/metrics"}) {
    http_.Post(path, wrong_method);
  }
  http_.Put(".*", wrong_method);
  http_.Delete(".*", wrong_method);
  http_.Patch(".*", wrong_method);
  http_.Options(".*", wrong_method);

  http_.set_pre_routing_handler([this](const Request& req, Response& res) {
    size_t header_bytes = 0;
    for (const auto& [name, value] : req.headers) header_bytes += name.size() + value.size() + 4;
    if (header_bytes <= static_cast<size_t>(options_.max_header_bytes)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    reply_error(res, 431,
                "headers too large: " + std::to_string(header_bytes) + " bytes, the limit is " +
                    std::to_string(options_.max_header_bytes));
    return httplib::Server::HandlerResponse::Handled;
  });
  // cpp-httplib's own refusals come with an empty body: say what was wrong, as JSON.
  http_.set_error_handler(httplib::Server::HandlerWithResponse([this](const Request& req,
                                                                      Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message;
    // cpp-httplib answers 400 to TRACE, CONNECT and PRI, and to a method it does not know.
    if (res.status == 400 && is_other_method(req)) {
      // A method cpp-httplib does not know stops it before the headers: they are still unread.
      if (req.path.empty()) {
        res.set_header("Connection", "close");
        serving::close_after_answer();
      }
      refuse_method(req.method,
                    req.path.empty() ? req.target.substr(0, req.target.find('?')) : req.path, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    switch (res.status) {
      case 400:
        message = "bad request: malformed request line, headers or multipart body";
        break;
      case 404:
        message = "no route " + req.method + " " + req.path + " (routes: " + kRoutes + ")";
        break;
      case 413:
        message =
            "body too large: the limit is " + std::to_string(options_.max_body_bytes) + " bytes";
        break;
      case 414:
        message = "request URI too long";
        break;
      default:
        message = "HTTP error " + std::to_string(res.status);
    }
    res.set_content(error_json(message), kJson);
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_.set_exception_handler([](const Request&, Response& res, std::exception_ptr error) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    reply_error(res, 500, "internal error: " + what);
  });
  http_.set_logger([this](const Request& req, const Response& res) {
    serving::request_answered();
    metrics_.count_request(route_of(req.path), res.status);
  });
}

void Server::reload() {
  try {
    std::shared_ptr<const ClassIndex> fresh = ClassIndex::load(options_.index);
    if (!(fresh->network() == current_index()->network())) {
      throw JobError(ExitCode::kConfiguration,
                     options_.index + " was built with other weights than the served network");
    }
    const std::string version = fresh->version();
    set_index(std::move(fresh));
    metrics_.count_reload(true);
    std::fprintf(stderr, "pomona: serving index version %s\n", version.c_str());
  } catch (const std::exception& e) {
    metrics_.count_reload(false);
    std::fprintf(stderr, "pomona: reload refused, still serving %s: %s\n",
                 current_index()->version().c_str(), e.what());
  }
}

void Server::run() {
  // Signals go to one thread (sigwait), never interrupt the others: blocked before any starts.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  add_routes();
  const int connection_threads =
      options_.connection_threads > 0 ? options_.connection_threads : std::max(128, 16 * threads_);
  http_.new_task_queue = [connection_threads, this] {
    return new ConnectionPool(connection_threads,
                              seconds<Clock::duration>(options_.receive_timeout_s));
  };
  http_.set_read_timeout(seconds(options_.read_timeout_s));
  http_.set_write_timeout(seconds(options_.read_timeout_s));
  http_.set_keep_alive_max_count(1000);
  http_.set_payload_max_length(static_cast<size_t>(options_.max_body_bytes));
  http_.set_tcp_nodelay(true);
  int port = options_.port;
  if (port == 0) {
    port = http_.bind_to_any_port(options_.host);
  } else if (!http_.bind_to_port(options_.host, port)) {
    port = -1;
  }
  if (port < 0) {
    throw JobError(ExitCode::kInputOutput, "cannot listen on " + options_.host + ":" +
                                               std::to_string(options_.port) +
                                               " (in use, or not an address of this machine)");
  }
  std::printf("pomona: listening on http://%s:%d\n", options_.host.c_str(), port);
  std::fflush(stdout);
  std::thread listener([this] { http_.listen_after_bind(); });

  std::atomic<bool> stopping{false};
  std::thread signal_thread([&] {
    for (;;) {
      int signal = 0;
      sigwait(&signals, &signal);
      if (signal == SIGHUP) {
        if (ready_) reload();
        continue;
      }
      stopping = true;
      std::fprintf(stderr, "pomona: stopping: finishing the requests in flight\n");
      http_.stop();
      return;
    }
  });
  const auto shut_down = [&] {
    if (!stopping) pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
    listener.join();
  };

  IndexNetwork network;
  Clock::duration per_image{};
  try {
    set_index(ClassIndex::load(options_.index));
    network = open_index_network(*current_index(), options_.weights);
    per_image = time_network(*network.extractor);
  } catch (...) {
    shut_down();
    throw;
  }
  const Clock::duration max_wait =
      options_.max_wait_ms > 0 ? seconds<Clock::duration>(options_.max_wait_ms / 1000) : per_image;
  queue_ = std::make_unique<serving::WorkQueue>(queue_places_, threads_, max_wait, per_image);
  std::vector<std::thread> workers;
  for (int w = 0; w < threads_; ++w) workers.emplace_back([&] { work(network); });
  ready_ = true;
  std::fprintf(stderr,
               "pomona: ready: %d networks (%.2f ms an image), wait budget %.2f ms, index version "
               "%s, weights %s\n",
               threads_, ms(per_image), ms(max_wait), current_index()->version().c_str(),
               network.weights_path.c_str());
  signal_thread.join();
  listener.join();
  queue_->close();
  for (auto& worker : workers) worker.join();
}

}  // namespace

void serve(const ServeOptions& options) { Server(options).run(); }

}  // namespace pomona
