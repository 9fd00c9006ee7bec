#include <gtest/gtest.h>

#include <string>

#include "pomona/table.h"

namespace pomona {
namespace {

TEST(StoredText, KeepsValidUtf8WithoutBackslashAsItIs) {
  EXPECT_EQ(stored_text("/data/Äpfel/grüne äpfel 🍏.jpg"), "/data/Äpfel/grüne äpfel 🍏.jpg");
}

TEST(StoredText, EscapesBytesThatAreNotUtf8AndBackslashes) {
  EXPECT_EQ(stored_text("bad\xff.jpg"), "bad\\xff.jpg");
  EXPECT_EQ(stored_text("a\\b"), "a\\\\b");
  // An overlong "/" (C0 AF), a surrogate (ED A0 80) and a truncated sequence: byte by byte.
  EXPECT_EQ(stored_text("\xc0\xaf|\xed\xa0\x80|\xe2\x82"), "\\xc0\\xaf|\\xed\\xa0\\x80|\\xe2\\x82");
}

TEST(StoredText, OriginalTextRestoresEveryByteString) {
  for (const std::string original :
       {std::string("bad\xff.jpg"), std::string("dir\\x41\\\\"), std::string("\\xff\xfe"),
        std::string("\x80", 1), std::string("a\0b", 3), std::string("plain.jpg")}) {
    EXPECT_EQ(original_text(stored_text(original)), original) << original;
  }
}

}  // namespace
}  // namespace pomona
