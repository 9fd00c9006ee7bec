// Counting substrings of generated HTML/SVG, shared by the report's tests.
#pragma once

#include <string>

namespace pomona::report {

// Occurrences of needle in text, overlapping ones included.
inline int count_occurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace pomona::report
