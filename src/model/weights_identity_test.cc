// identity_settings and identity_from_settings (pomona/model.h): the one conversion between a
// NetworkIdentity and the metadata of feature files and indexes.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "pomona/error.h"
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
  identity.bf16_layout = bf16_layout();
  return identity;
}

TEST(NetworkIdentity, Fp32SettingsAreTheKeysFeatureFilesHaveAlwaysRecorded) {
  NetworkIdentity fp32 = some_identity();
  fp32.precision = "fp32";
  fp32.bf16_layout.clear();
  EXPECT_EQ(identity_settings(fp32),
            (std::map<std::string, std::string>{{"pomona.alpha", "0.35"},
                                                {"pomona.size", "96"},
                                                {"pomona.weights_sha256", std::string(64, 'e')},
                                                {"pomona.jpeg_draft", "true"},
                                                {"pomona.exif_transpose", "false"},
                                                {"pomona.precision", "fp32"}}));
}

TEST(NetworkIdentity, Bf16SettingsAlsoRecordTheBf16Layout) {
  const std::map<std::string, std::string> settings = identity_settings(some_identity());
  EXPECT_EQ(settings.size(), 7u);
  EXPECT_EQ(settings.at("pomona.precision"), "bf16");
  EXPECT_EQ(settings.at("pomona.bf16_layout"),
            "fp32 to block_6_project; bf16 kernels keep their channel sums");
}

TEST(NetworkIdentity, AnUnrecordedBf16LayoutReadsAsEmptyNeverAsTheGivenOne) {
  std::map<std::string, std::string> settings = identity_settings(some_identity());
  settings.erase("pomona.bf16_layout");  // bf16 features of a Pomona that did not record it
  const NetworkIdentity given = some_identity();
  const Result<NetworkIdentity> read = identity_from_settings(settings, &given);
  ASSERT_TRUE(read.ok()) << read.error();
  EXPECT_EQ(read.value().bf16_layout, "");
  EXPECT_EQ(identity_from_settings(settings).value().bf16_layout, "");
}

TEST(NetworkIdentity, Bf16FeaturesOfAnotherLayoutAreRefusedNamingBothLayouts) {
  NetworkIdentity older = some_identity();
  older.bf16_layout.clear();
  try {
    check_bf16_layout(older, "f.parquet");
    FAIL() << "accepted bf16 features that do not record their layout";
  } catch (const JobError& error) {
    EXPECT_EQ(error.code(), ExitCode::kConfiguration);
    EXPECT_EQ(std::string(error.what()),
              "f.parquet holds bf16 features of another bf16 layout (an older Pomona's) than this "
              "Pomona runs ('fp32 to block_6_project; bf16 kernels keep their channel sums'), so "
              "new features would not match them: featurize again with this version (`pomona "
              "featurize --precision bf16`), then index those features");
  }
  NetworkIdentity other = some_identity();
  other.bf16_layout = "fp32 to block_8_project";
  EXPECT_THROW(check_bf16_layout(other, "the index"), JobError);
  EXPECT_NO_THROW(check_bf16_layout(some_identity(), "the index"));
  NetworkIdentity fp32 = older;
  fp32.precision = "fp32";
  EXPECT_NO_THROW(check_bf16_layout(fp32, "the index"));
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
