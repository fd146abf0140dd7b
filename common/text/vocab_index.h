#pragma once
// String -> id lookup probed with string_views, so WordPiece can test every candidate piece of a
// word without building a std::string (C++17's unordered_map cannot do heterogeneous lookup).
// Open addressing with linear probing over one arena of key bytes.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bertfleet {

class VocabIndex {
 public:
  static constexpr int32_t kNotFound = -1;

  // Maps key to id; inserting an existing key again replaces its id (vocab.txt: the last
  // line wins, as in Hugging Face's load_vocab).
  void Insert(std::string_view key, int32_t id);
  int32_t Find(std::string_view key) const;

  size_t size() const { return count_; }
  // Longest key in bytes: candidates longer than this cannot match.
  size_t max_key_length() const { return max_key_length_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0;
    uint32_t length = 0;
    int32_t id = kNotFound;  // kNotFound marks an empty slot
  };

  static uint64_t Hash(std::string_view key);
  void Grow();

  std::string arena_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
  size_t max_key_length_ = 0;
};

}  // namespace bertfleet
