// weights_sha256, identity_settings and identity_from_settings (include/pomona/model.h): the one
// place that names the metadata keys of a NetworkIdentity.
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include "pomona/error.h"
#include "pomona/io.h"
#include "pomona/model.h"

namespace pomona {
namespace {

constexpr const char* kAlpha = "pomona.alpha";
constexpr const char* kSize = "pomona.size";
constexpr const char* kWeightsSha256 = "pomona.weights_sha256";
constexpr const char* kJpegDraft = "pomona.jpeg_draft";
constexpr const char* kExifTranspose = "pomona.exif_transpose";
constexpr const char* kPrecision = "pomona.precision";
constexpr const char* kBf16Layout = "pomona.bf16_layout";

std::string flag(bool on) { return on ? "true" : "false"; }

// Reads one key of settings into value; absent keys keep value (taken from `absent`), or fail
// when there is none. parse: the text -> value, false when malformed.
template <typename T, typename Parse>
Status read_key(const std::map<std::string, std::string>& settings, const char* key, bool required,
                const char* expected, Parse parse, T& value) {
  const auto it = settings.find(key);
  if (it == settings.end()) {
    if (required) return Status::failure(std::string("no ") + key);
    return Status();
  }
  if (!parse(it->second, value))
    return Status::failure(std::string(key) + " is not " + expected + ": " + it->second);
  return Status();
}

template <typename T>
bool parse_number(const std::string& text, T& value) {
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  return error == std::errc() && ptr == end && !text.empty();
}

bool parse_flag(const std::string& text, bool& value) {
  if (text != "true" && text != "false") return false;
  value = text == "true";
  return true;
}

bool parse_text(const std::string& text, std::string& value) {
  value = text;
  return true;
}

bool parse_precision_name(const std::string& text, std::string& value) {
  value = text;
  return text == precision_name(Precision::kFp32) || text == precision_name(Precision::kBf16);
}

}  // namespace

std::string weights_sha256(const std::string& path) {
  auto bytes = read_bytes(path);
  if (!bytes.ok()) throw JobError(ExitCode::kConfiguration, bytes.error());
  return sha256_hex(bytes.value());
}

std::map<std::string, std::string> identity_settings(const NetworkIdentity& identity) {
  char alpha[16];
  std::snprintf(alpha, sizeof(alpha), "%g", identity.alpha);
  std::map<std::string, std::string> settings = {{kAlpha, alpha},
                                                 {kSize, std::to_string(identity.size)},
                                                 {kWeightsSha256, identity.weights_sha256},
                                                 {kJpegDraft, flag(identity.jpeg_draft)},
                                                 {kExifTranspose, flag(identity.exif_transpose)},
                                                 {kPrecision, identity.precision}};
  // Only bf16 features depend on the layout: fp32 outputs of older Pomonas stay resumable.
  if (identity.precision == precision_name(Precision::kBf16)) {
    settings[kBf16Layout] = identity.bf16_layout;
  }
  return settings;
}

Result<NetworkIdentity> identity_from_settings(const std::map<std::string, std::string>& settings,
                                               const NetworkIdentity* absent) {
  NetworkIdentity identity = absent ? *absent : NetworkIdentity();
  // Unrecorded, the layout is an older one, never `absent`'s.
  identity.bf16_layout.clear();
  const bool required = absent == nullptr;
  for (const Status& status : {
           read_key(settings, kAlpha, required, "a number", parse_number<float>, identity.alpha),
           read_key(settings, kSize, required, "a number", parse_number<int>, identity.size),
           read_key(settings, kWeightsSha256, required, "a hash", parse_text,
                    identity.weights_sha256),
           read_key(settings, kJpegDraft, required, "true or false", parse_flag,
                    identity.jpeg_draft),
           read_key(settings, kExifTranspose, required, "true or false", parse_flag,
                    identity.exif_transpose),
           read_key(settings, kPrecision, required, "fp32 or bf16", parse_precision_name,
                    identity.precision),
           read_key(settings, kBf16Layout, /*required=*/false, "text", parse_text,
                    identity.bf16_layout),
       }) {
    if (!status.ok()) return Result<NetworkIdentity>::failure(status.message());
  }
  return identity;
}

void check_bf16_layout(const NetworkIdentity& identity, const std::string& what) {
  if (identity.precision != precision_name(Precision::kBf16) ||
      identity.bf16_layout == bf16_layout()) {
    return;
  }
  const std::string made = identity.bf16_layout.empty() ? std::string("an older Pomona's")
                                                        : "'" + identity.bf16_layout + "'";
  throw JobError(ExitCode::kConfiguration,
                 what + " holds bf16 features of another bf16 layout (" + made +
                     ") than this Pomona runs ('" + bf16_layout() +
                     "'), so new features would not match them: featurize again with this "
                     "version (`pomona featurize --precision bf16`), then index those features");
}

}  // namespace pomona
