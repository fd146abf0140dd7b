#include "common/text/vocab_index.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/util/error.h"

namespace bertfleet {
namespace {

constexpr size_t kInlineKey = 8;

// The n <= 8 bytes at p, zero-padded, without a variable-length memcpy call: two overlapping
// fixed-size loads whose shared bytes agree, so OR-ing them is exact.
uint64_t LoadShort(const char* p, size_t n) {
  if (n >= 4) {
    uint32_t low, high;
    std::memcpy(&low, p, 4);
    std::memcpy(&high, p + n - 4, 4);
    return low | (static_cast<uint64_t>(high) << (8 * (n - 4)));
  }
  if (n >= 2) {
    uint16_t low, high;
    std::memcpy(&low, p, 2);
    std::memcpy(&high, p + n - 2, 2);
    return low | (static_cast<uint64_t>(high) << (8 * (n - 2)));
  }
  return n == 1 ? static_cast<uint8_t>(p[0]) : 0;
}

uint64_t Mix(uint64_t h) {
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  return h ^ (h >> 32);
}

}  // namespace

VocabIndex::Probe VocabIndex::MakeProbe(std::string_view key) {
  const char* p = key.data();
  const size_t n = key.size();
  Probe probe{};
  if (n <= kInlineKey) {
    probe.short_key = LoadShort(p, n);
    probe.hash = Mix(probe.short_key ^ (n * 0x9E3779B97F4A7C15ull));
  } else {
    uint64_t h = n * 0x9E3779B97F4A7C15ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t v;
      std::memcpy(&v, p + i, 8);
      h = Mix(h ^ v);
    }
    probe.hash = Mix(h ^ LoadShort(p + i, n - i) ^ 0xA5A5A5A5A5A5A5A5ull);
  }
  probe.tag = (static_cast<uint32_t>(probe.hash >> 32) & ~0xFFu) |
              static_cast<uint32_t>(std::min<size_t>(n, 0xFF));
  return probe;
}

bool VocabIndex::Matches(const Slot& slot, const Probe& probe, std::string_view key) const {
  if (slot.tag != probe.tag) return false;
  if (key.size() <= kInlineKey) return slot.key == probe.short_key;
  uint32_t length;
  std::memcpy(&length, arena_.data() + slot.key, sizeof(length));
  return length == key.size() &&
         std::memcmp(arena_.data() + slot.key + sizeof(length), key.data(), key.size()) == 0;
}

void VocabIndex::Grow() {
  std::vector<Slot> old = std::move(slots_);
  const size_t capacity = old.empty() ? 64 : old.size() * 2;
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  for (const Slot& slot : old) {
    if (slot.id == kNotFound) continue;
    uint64_t hash;
    const size_t length = slot.tag & 0xFF;
    if (length <= kInlineKey) {  // tags of longer keys hold at least 9
      hash = MakeProbe(std::string_view(reinterpret_cast<const char*>(&slot.key), length)).hash;
    } else {
      uint32_t full_length;
      std::memcpy(&full_length, arena_.data() + slot.key, sizeof(full_length));
      hash = MakeProbe(std::string_view(arena_).substr(slot.key + sizeof(full_length), full_length))
                 .hash;
    }
    size_t at = hash & mask_;
    while (slots_[at].id != kNotFound) at = (at + 1) & mask_;
    slots_[at] = slot;
  }
}

void VocabIndex::Insert(std::string_view key, int32_t id) {
  if (id < 0) throw Error("VocabIndex: negative id for '" + std::string(key) + "'");
  if (key.size() > std::numeric_limits<uint32_t>::max()) throw Error("VocabIndex: key too long");
  if ((count_ + 1) * 2 > slots_.size()) Grow();  // keep the load factor at or below 1/2
  const Probe probe = MakeProbe(key);
  size_t at = probe.hash & mask_;
  for (; slots_[at].id != kNotFound; at = (at + 1) & mask_) {
    if (Matches(slots_[at], probe, key)) {
      slots_[at].id = id;
      return;
    }
  }
  Slot slot;
  slot.tag = probe.tag;
  slot.id = id;
  if (key.size() <= kInlineKey) {
    slot.key = probe.short_key;
  } else {
    slot.key = arena_.size();
    const auto length = static_cast<uint32_t>(key.size());
    arena_.append(reinterpret_cast<const char*>(&length), sizeof(length));
    arena_.append(key);
  }
  slots_[at] = slot;
  ++count_;
  max_key_length_ = std::max(max_key_length_, key.size());
}

int32_t VocabIndex::Find(std::string_view key) const {
  if (count_ == 0 || key.size() > max_key_length_) return kNotFound;
  const Probe probe = MakeProbe(key);
  for (size_t at = probe.hash & mask_;; at = (at + 1) & mask_) {
    const Slot& slot = slots_[at];
    if (slot.id == kNotFound) return kNotFound;
    if (Matches(slot, probe, key)) return slot.id;
  }
}

}  // namespace bertfleet
