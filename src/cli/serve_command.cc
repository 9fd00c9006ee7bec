// `pomona serve` (serve_command.h).
#include "serve_command.h"

#include <memory>

#include "pomona/serve.h"

namespace pomona {
namespace {

constexpr const char* kServeExamples = R"(
Examples:
  pomona serve fruits.index.parquet                      # http://127.0.0.1:8080/ on a phone's network: --host 0.0.0.0
  pomona serve fruits.index.parquet --port 9000 --threads 2 --max-wait-ms 50
  kill -HUP $(pidof pomona)                              # swap in a rebuilt index file
)";

}  // namespace

void add_serve_command(CLI::App& app) {
  auto options = std::make_shared<ServeOptions>();
  auto method = std::make_shared<std::string>("ncm");
  CLI::App* command = app.add_subcommand(
      "serve", "Serve INDEX over HTTP: POST /v1/classify, a phone page at /, health and metrics.");
  command->footer(kServeExamples);
  command->add_option("INDEX", options->index, "an index file (pomona index)")->required();
  command->add_option("--weights", options->weights,
                      "the index's weights (default: Keras' cache); others are refused");
  command->add_option("--host", options->host, "address to listen on")->capture_default_str();
  command->add_option("--port", options->port, "port (0: any free one)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  command->add_option("--threads", options->threads, "networks, one per core (0 = all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  command
      ->add_option("--queue", options->queue,
                   "places for requests waiting for a network; more get 503 (0 = 4 per network)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  command
      ->add_option("--max-wait-ms", options->max_wait_ms,
                   "wait budget: a request whose expected wait for a network exceeds it gets 503 "
                   "at once, one that waited past it gets 503 unrun (0 = the network's time per "
                   "image, measured at start-up)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      ->add_option(
          "--connection-threads", options->connection_threads,
          "threads serving connections, one per open connection (0 = max(128, 16 x threads))")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  command->add_option("--top-k", options->top_k, "answers per image")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  command->add_option("--method", *method, "nearest class mean or neighbours")
      ->check(CLI::IsMember({"ncm", "knn"}))
      ->capture_default_str();
  command->add_option("--max-body-bytes", options->max_body_bytes, "larger bodies get 413")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_option("--max-header-bytes", options->max_header_bytes, "larger headers get 431")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command
      ->add_option("--read-timeout", options->read_timeout_s,
                   "seconds a client may stay silent while sending")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command
      ->add_option("--receive-timeout", options->receive_timeout_s,
                   "seconds one request may take to arrive, headers and body; longer: cut off")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command
      ->add_option("--request-timeout", options->request_timeout_s,
                   "seconds from arrival to answer; later: 503")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->callback([options, method] {
    options->method =
        *method == "knn" ? ClassifyMethod::kNearestNeighbours : ClassifyMethod::kNearestClassMean;
    serve(*options);
  });
}

}  // namespace pomona
