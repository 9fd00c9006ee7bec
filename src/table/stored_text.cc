// stored_text and original_text (include/pomona/table.h).
#include <cstdint>
#include <string>
#include <string_view>

#include "pomona/table.h"

namespace pomona {
namespace {

// The length of the well-formed UTF-8 sequence at text[i] (Unicode table 3-7: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 when the byte there starts none.
size_t utf8_sequence_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t first = byte(i);
  if (first < 0x80) return 1;
  size_t length = 0;
  uint8_t low = 0x80, high = 0xBF;  // range of the second byte
  if (first >= 0xC2 && first <= 0xDF) {
    length = 2;
  } else if (first >= 0xE0 && first <= 0xEF) {
    length = 3;
    if (first == 0xE0) low = 0xA0;
    if (first == 0xED) high = 0x9F;
  } else if (first >= 0xF0 && first <= 0xF4) {
    length = 4;
    if (first == 0xF0) low = 0x90;
    if (first == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size() || byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

bool needs_escaping(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = utf8_sequence_length(text, i);
    if (length == 0 || text[i] == '\\') return true;
    i += length;
  }
  return false;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string stored_text(std::string_view original) {
  if (!needs_escaping(original)) return std::string(original);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string stored;
  stored.reserve(original.size() + 8);
  for (size_t i = 0; i < original.size();) {
    const size_t length = utf8_sequence_length(original, i);
    if (length == 0) {
      const auto byte = static_cast<uint8_t>(original[i++]);
      stored += "\\x";
      stored += kHex[byte >> 4];
      stored += kHex[byte & 15];
    } else if (original[i] == '\\') {
      stored += "\\\\";
      ++i;
    } else {
      stored.append(original.substr(i, length));
      i += length;
    }
  }
  return stored;
}

std::string original_text(std::string_view stored) {
  if (stored.find('\\') == std::string_view::npos) return std::string(stored);
  std::string original;
  original.reserve(stored.size());
  for (size_t i = 0; i < stored.size(); ++i) {
    if (stored[i] == '\\' && i + 1 < stored.size() && stored[i + 1] == '\\') {
      original += '\\';
      ++i;
    } else if (stored[i] == '\\' && i + 3 < stored.size() && stored[i + 1] == 'x' &&
               hex_value(stored[i + 2]) >= 0 && hex_value(stored[i + 3]) >= 0) {
      original += static_cast<char>(hex_value(stored[i + 2]) * 16 + hex_value(stored[i + 3]));
      i += 3;
    } else {
      original += stored[i];  // not an escape Pomona writes: kept as it is
    }
  }
  return original;
}

}  // namespace pomona
