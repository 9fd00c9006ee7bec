// identity_settings and identity_from_settings (pomona/model.h): the one conversion between a
// NetworkIdentity and the metadata of feature files and indexes.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "pomona/model.h"

namespace pomona {
namespace {

NetworkIdentity some_identity() {
  NetworkIdentity identity;
  identity.alpha = 0.35f;
  identity.size = 96;
  identity.weights_sha256 = std::string(64, 'e');
  identity.jpeg_draft = true;
  identity.exif_transpose = false;
  identity.precision = "bf16";
  return identity;
}

TEST(NetworkIdentity, SettingsAreTheKeysFeatureFilesHaveAlwaysRecorded) {
  EXPECT_EQ(identity_settings(some_identity()),
            (std::map<std::string, std::string>{{"pomona.alpha", "0.35"},
                                                {"pomona.size", "96"},
                                                {"pomona.weights_sha256", std::string(64, 'e')},
                                                {"pomona.jpeg_draft", "true"},
                                                {"pomona.exif_transpose", "false"},
                                                {"pomona.precision", "bf16"}}));
}

TEST(NetworkIdentity, SettingsGiveTheIdentityBack) {
  std::map<std::string, std::string> settings = identity_settings(some_identity());
  settings["pomona.version"] = "0.9";  // other keys are left alone
  const Result<NetworkIdentity> back = identity_from_settings(settings);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back.value(), some_identity());
}

TEST(NetworkIdentity, AbsentKeysTakeTheGivenValuesOrAreErrorsWhenNoneAreGiven) {
  const std::map<std::string, std::string> settings = {{"pomona.size", "128"}};
  const NetworkIdentity given = some_identity();
  const Result<NetworkIdentity> completed = identity_from_settings(settings, &given);
  ASSERT_TRUE(completed.ok()) << completed.error();
  EXPECT_EQ(completed.value().size, 128);
  EXPECT_EQ(completed.value().alpha, 0.35f);
  EXPECT_EQ(completed.value().precision, "bf16");
  const Result<NetworkIdentity> required = identity_from_settings(settings);
  ASSERT_FALSE(required.ok());
  EXPECT_EQ(required.error(), "no pomona.alpha");
}

TEST(NetworkIdentity, MalformedValuesNameTheirKey) {
  std::map<std::string, std::string> settings = identity_settings(some_identity());
  settings["pomona.size"] = "96px";
  EXPECT_EQ(identity_from_settings(settings).error(), "pomona.size is not a number: 96px");
  settings = identity_settings(some_identity());
  settings["pomona.jpeg_draft"] = "yes";
  EXPECT_EQ(identity_from_settings(settings).error(),
            "pomona.jpeg_draft is not true or false: yes");
  settings = identity_settings(some_identity());
  settings["pomona.precision"] = "fp16";
  EXPECT_EQ(identity_from_settings(settings).error(), "pomona.precision is not fp32 or bf16: fp16");
}

TEST(NetworkIdentity, AlphaWrittenWithAllDigitsReadsAsTheSameFloat) {
  // Index files written before identity_settings gave alpha with 17 digits.
  std::map<std::string, std::string> settings = identity_settings(some_identity());
  settings["pomona.alpha"] = "0.34999999403953552";
  EXPECT_EQ(identity_from_settings(settings).value().alpha, 0.35f);
}

}  // namespace
}  // namespace pomona
