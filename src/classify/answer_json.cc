// json_quote and answer_json_members (include/pomona/classify.h).
#include <cstdio>

#include "pomona/classify.h"

namespace pomona {

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", ch);
          out += escaped;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::string answer_json_members(const Answer& answer) {
  std::string out = "\"predictions\": [";
  for (size_t i = 0; i < answer.predictions.size(); ++i) {
    const Prediction& p = answer.predictions[i];
    char score[32];
    std::snprintf(score, sizeof score, "%.6f", p.score);
    out += (i ? ", " : "") + std::string("{\"label\": ") + json_quote(p.label) +
           ", \"score\": " + score + ", \"info\": " + p.info_json + "}";
  }
  return out + "], \"unknown\": " + (answer.unknown ? "true" : "false");
}

}  // namespace pomona
