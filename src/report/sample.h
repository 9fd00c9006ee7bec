// Deterministic subsampling of a stream: keep the `capacity` items whose keys hash lowest. The
// choice depends only on the keys (here: the row's path), not on the order rows arrive in, the
// number of files or threads, and a run over the same rows always draws the same sample.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace pomona::report {

// 64-bit FNV-1a of `text` followed by the splitmix64 finaliser, so that similar paths
// ("img_001.jpg", "img_002.jpg") spread over the whole range.
uint64_t stable_hash(std::string_view text);

template <typename Item>
class BottomHashSample {
 public:
  explicit BottomHashSample(int64_t capacity) : capacity_(capacity) {}

  // Offers an item; `sequence` breaks ties between equal hashes (duplicate paths) by arrival.
  void offer(uint64_t hash, int64_t sequence, Item item) {
    ++offered_;
    const Key key{hash, sequence};
    if (static_cast<int64_t>(heap_.size()) == capacity_) {
      if (capacity_ == 0 || !(key < heap_.front().first)) return;
      std::pop_heap(heap_.begin(), heap_.end(), by_key);
      heap_.pop_back();
    }
    heap_.emplace_back(key, std::move(item));
    std::push_heap(heap_.begin(), heap_.end(), by_key);
  }

  int64_t offered() const { return offered_; }

  // The sampled items in order of arrival (sequence); leaves the sample empty.
  std::vector<Item> take_in_arrival_order() {
    std::sort(heap_.begin(), heap_.end(),
              [](const Entry& a, const Entry& b) { return a.first.sequence < b.first.sequence; });
    std::vector<Item> items;
    items.reserve(heap_.size());
    for (Entry& entry : heap_) items.push_back(std::move(entry.second));
    heap_.clear();
    return items;
  }

 private:
  struct Key {
    uint64_t hash;
    int64_t sequence;
    bool operator<(const Key& other) const {
      return std::pair(hash, sequence) < std::pair(other.hash, other.sequence);
    }
  };
  using Entry = std::pair<Key, Item>;
  // Max-heap on the key: the front is the item to drop when a lower hash arrives.
  static bool by_key(const Entry& a, const Entry& b) { return a.first < b.first; }

  int64_t capacity_;
  int64_t offered_ = 0;
  std::vector<Entry> heap_;
};

}  // namespace pomona::report
