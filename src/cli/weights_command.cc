// `pomona weights fetch` (weights_command.h).
#include "weights_command.h"

#include <cstdio>
#include <memory>

#include "checks.h"
#include "pomona/model.h"

namespace pomona {

void add_weights_command(CLI::App& app) {
  CLI::App* weights = app.add_subcommand("weights", "Manage Keras MobileNetV2 weights files.");
  weights->require_subcommand(1);
  auto spec = std::make_shared<MobileNetV2Spec>();
  auto no_top = std::make_shared<bool>(false);
  CLI::App* fetch = weights->add_subcommand(
      "fetch", "Download Keras' published ImageNet weights into Keras' cache and check them.");
  add_model_options(*fetch, *spec);
  fetch->add_flag("--no-top", *no_top, "the _no_top file (without the classifier)");
  fetch->callback([spec, no_top] {
    std::printf("pomona: weights ready at %s\n", fetch_keras_weights(*spec, !*no_top).c_str());
  });
}

}  // namespace pomona
