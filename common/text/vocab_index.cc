#include "common/text/vocab_index.h"

#include <cstring>
#include <limits>

#include "common/util/error.h"

namespace bertfleet {

uint64_t VocabIndex::Hash(std::string_view key) {
  // Word pieces are short: mix 8 bytes at a time with multiply-xorshift steps.
  const char* p = key.data();
  size_t n = key.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = (h ^ v) * 0xC4CEB9FE1A85EC53ull;
  }
  h ^= h >> 29;
  h *= 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 32);
}

void VocabIndex::Grow() {
  std::vector<Slot> old = std::move(slots_);
  const size_t capacity = old.empty() ? 64 : old.size() * 2;
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  for (const Slot& slot : old) {
    if (slot.id == kNotFound) continue;
    size_t at = slot.hash & mask_;
    while (slots_[at].id != kNotFound) at = (at + 1) & mask_;
    slots_[at] = slot;
  }
}

void VocabIndex::Insert(std::string_view key, int32_t id) {
  if (id < 0) throw Error("VocabIndex: negative id for '" + std::string(key) + "'");
  if (arena_.size() + key.size() > std::numeric_limits<uint32_t>::max()) {
    throw Error("VocabIndex: vocabulary larger than 4 GiB");
  }
  if ((count_ + 1) * 2 > slots_.size()) Grow();  // keep the load factor at or below 1/2
  const uint64_t hash = Hash(key);
  size_t at = hash & mask_;
  while (slots_[at].id != kNotFound) {
    Slot& slot = slots_[at];
    if (slot.hash == hash && std::string_view(arena_).substr(slot.offset, slot.length) == key) {
      slot.id = id;
      return;
    }
    at = (at + 1) & mask_;
  }
  slots_[at] = Slot{hash, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(key.size()),
                    id};
  arena_.append(key);
  ++count_;
  if (key.size() > max_key_length_) max_key_length_ = key.size();
}

int32_t VocabIndex::Find(std::string_view key) const {
  if (slots_.empty() || key.size() > max_key_length_) return kNotFound;
  const uint64_t hash = Hash(key);
  const char* arena = arena_.data();
  for (size_t at = hash & mask_;; at = (at + 1) & mask_) {
    const Slot& slot = slots_[at];
    if (slot.id == kNotFound) return kNotFound;
    if (slot.hash == hash && slot.length == key.size() &&
        std::memcmp(arena + slot.offset, key.data(), key.size()) == 0) {
      return slot.id;
    }
  }
}

}  // namespace bertfleet
