#include "checks.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "pomona/pipeline.h"

namespace pomona {
namespace {

// Parses args (after the program name) into an app with --threads checked by the core's rule and
// the retired --center; returns CLI11's message, "" when the line parses.
std::string parse_error(std::vector<std::string> args) {
  CLI::App app;
  int threads = 0;
  bool center = false;
  app.add_option("--threads", threads)->check(core_rule(check_threads, "INT"));
  app.add_flag("--pca-center", center);
  add_retired_option(app, "--center", false, "is now --pca-center");
  add_retired_option(app, "--html", true, "is now the second argument");
  std::reverse(args.begin(), args.end());  // CLI11 takes them in reverse
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  return "";
}

TEST(CoreRule, CliSaysWhatTheCoreSaysWithTheOptionsName) {
  EXPECT_EQ(parse_error({"--threads", "2"}), "");
  EXPECT_EQ(parse_error({"--threads", "0"}), "");
  EXPECT_EQ(parse_error({"--threads", "-1"}), "--threads: must be 0 (all cores) to 1024, not -1");
  EXPECT_EQ(parse_error({"--threads", "2x"}), "--threads: give a whole number, not 2x");
}

TEST(RetiredOption, FailsWithOneLineNamingTheNewSpelling) {
  EXPECT_EQ(parse_error({"--pca-center"}), "");
  EXPECT_EQ(parse_error({"--center"}), "--center: is now --pca-center");
  EXPECT_EQ(parse_error({"--html", "r.html"}), "--html: is now the second argument");
}

TEST(RetiredOption, IsHiddenFromHelp) {
  CLI::App app;
  add_retired_option(app, "--center", false, "is now --pca-center");
  EXPECT_EQ(app.help().find("--center"), std::string::npos);
}

}  // namespace
}  // namespace pomona
