#pragma once
// The safetensors container format (https://github.com/huggingface/safetensors), without LibTorch:
//   8 bytes   little-endian uint64 N = header length
//   N bytes   JSON header {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...,
//             "__metadata__": {"key": "value"}} (may be padded with trailing spaces)
//   rest      tensor bytes; offsets are relative to the end of the header.
// Parsing validates everything (header length vs file size, dtype, shape, offsets contiguous and
// in range, byte size == numel * dtype size, all overflow-checked) and never crashes on arbitrary
// bytes: every problem is an Error naming the file and, where there is one, the tensor.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace bertfleet::safetensors {

// Largest header we accept (the reference implementation uses the same limit).
constexpr uint64_t kMaxHeaderBytes = 100u * 1024u * 1024u;

enum class Dtype { kBool, kU8, kI8, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kF64, kI64, kU64,
                   kF8E4M3, kF8E5M2 };

// "F32" -> kF32 etc.; returns false for an unknown name.
bool DtypeFromName(std::string_view name, Dtype* out);
const char* DtypeName(Dtype dtype);
size_t DtypeSize(Dtype dtype);

struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to data_start
  uint64_t end = 0;
  uint64_t numel() const;  // product of shape (validated not to overflow)
  uint64_t nbytes() const { return end - begin; }
};

struct Header {
  std::vector<TensorInfo> tensors;  // in data order (sorted by offset)
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // absolute file offset of the data section (8 + N)
  const TensorInfo* Find(std::string_view name) const;
};

// The header length stored in the first 8 bytes.
uint64_t DecodeHeaderLength(const unsigned char bytes[8]);

// Parses and validates the JSON header `header_json` (the N bytes after the length prefix) of a
// file that has `file_size` bytes in total. `source` names the file in error messages.
Header ParseHeader(std::string_view header_json, uint64_t file_size, const std::string& source);

// Parses a whole file held in memory (length prefix + header + data); for tests and fuzzing.
Header ParseFile(std::string_view file_bytes, const std::string& source);

struct TensorSpec {
  std::string name;
  Dtype dtype = Dtype::kF32;
  std::vector<int64_t> shape;
};

// The length prefix + JSON header (space-padded so the data starts 8-byte aligned) for tensors
// laid out back to back in the given order. Throws Error on a duplicate or reserved name or a bad
// shape.
std::string SerializeHeader(const std::vector<TensorSpec>& tensors,
                            const std::map<std::string, std::string>& metadata);

}  // namespace bertfleet::safetensors
