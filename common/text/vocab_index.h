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
  // 16 bytes. Keys of up to 8 bytes (nine in ten word pieces) live in the slot itself, so a hit
  // touches one cache line; longer keys store an offset into arena_ (length-prefixed bytes).
  struct Slot {
    uint64_t key = 0;        // the key bytes zero-padded, or its arena offset when longer than 8
    uint32_t tag = 0;        // high hash bits | min(length, 255), a cheap first comparison
    int32_t id = kNotFound;  // kNotFound marks an empty slot
  };
  struct Probe {
    uint64_t hash;
    uint64_t short_key;  // the zero-padded bytes, when the key is short
    uint32_t tag;
  };

  static Probe MakeProbe(std::string_view key);
  bool Matches(const Slot& slot, const Probe& probe, std::string_view key) const;
  void Grow();

  std::string arena_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
  size_t max_key_length_ = 0;
};

}  // namespace bertfleet
