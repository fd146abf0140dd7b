#include "common/model/safetensors_format.h"

#include <algorithm>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "common/util/error.h"

namespace bertfleet::safetensors {
namespace {

struct DtypeEntry {
  Dtype dtype;
  const char* name;
  size_t size;
};

constexpr DtypeEntry kDtypes[] = {
    {Dtype::kBool, "BOOL", 1}, {Dtype::kU8, "U8", 1},      {Dtype::kI8, "I8", 1},
    {Dtype::kI16, "I16", 2},   {Dtype::kU16, "U16", 2},    {Dtype::kF16, "F16", 2},
    {Dtype::kBF16, "BF16", 2}, {Dtype::kI32, "I32", 4},    {Dtype::kU32, "U32", 4},
    {Dtype::kF32, "F32", 4},   {Dtype::kF64, "F64", 8},    {Dtype::kI64, "I64", 8},
    {Dtype::kU64, "U64", 8},   {Dtype::kF8E4M3, "F8_E4M3", 1}, {Dtype::kF8E5M2, "F8_E5M2", 1},
};

// Deep JSON is never valid here; rejecting it bounds memory and recursion (dump, destructors).
constexpr int kMaxJsonDepth = 3;
constexpr size_t kMaxRank = 64;

std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 80)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (text.size() > 80) out += "...";
  return out;
}

[[noreturn]] void Fail(const std::string& source, const std::string& what) {
  throw Error(source + ": invalid safetensors file: " + what);
}

[[noreturn]] void FailTensor(const std::string& source, std::string_view tensor, const std::string& what) {
  throw Error(source + ": invalid safetensors file: tensor '" + Printable(tensor) + "': " + what);
}

bool MulOverflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return true;
  *out = a * b;
  return false;
}

TensorInfo ParseEntry(const std::string& name, const nlohmann::json& entry, const std::string& source) {
  if (!entry.is_object()) FailTensor(source, name, "entry is not a JSON object");
  TensorInfo info;
  info.name = name;

  auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) FailTensor(source, name, "missing string 'dtype'");
  const std::string& dtype_name = dtype_it->get_ref<const std::string&>();
  if (!DtypeFromName(dtype_name, &info.dtype)) {
    FailTensor(source, name, "unknown dtype '" + Printable(dtype_name) + "'");
  }

  auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array()) FailTensor(source, name, "missing array 'shape'");
  if (shape_it->size() > kMaxRank) FailTensor(source, name, "shape has more than 64 dimensions");
  uint64_t numel = 1;
  for (const auto& dim : *shape_it) {
    if (!dim.is_number_unsigned()) FailTensor(source, name, "shape entries must be non-negative integers");
    const uint64_t d = dim.get<uint64_t>();
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      FailTensor(source, name, "shape dimension too large");
    }
    if (MulOverflows(numel, d, &numel)) FailTensor(source, name, "shape element count overflows");
    info.shape.push_back(static_cast<int64_t>(d));
  }
  uint64_t expected_bytes = 0;
  if (MulOverflows(numel, DtypeSize(info.dtype), &expected_bytes)) {
    FailTensor(source, name, "byte size overflows");
  }

  auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
      !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned()) {
    FailTensor(source, name, "'data_offsets' must be [begin, end] with non-negative integers");
  }
  info.begin = (*offsets_it)[0].get<uint64_t>();
  info.end = (*offsets_it)[1].get<uint64_t>();
  if (info.end < info.begin) {
    FailTensor(source, name, "data_offsets end " + std::to_string(info.end) + " < begin " +
                                 std::to_string(info.begin));
  }
  if (info.end - info.begin != expected_bytes) {
    FailTensor(source, name, "data_offsets span " + std::to_string(info.end - info.begin) +
                                 " bytes but dtype " + DtypeName(info.dtype) + " x " +
                                 std::to_string(numel) + " elements needs " +
                                 std::to_string(expected_bytes));
  }
  return info;
}

}  // namespace

bool DtypeFromName(std::string_view name, Dtype* out) {
  for (const auto& entry : kDtypes) {
    if (name == entry.name) {
      *out = entry.dtype;
      return true;
    }
  }
  return false;
}

const char* DtypeName(Dtype dtype) {
  for (const auto& entry : kDtypes) {
    if (entry.dtype == dtype) return entry.name;
  }
  return "?";
}

size_t DtypeSize(Dtype dtype) {
  for (const auto& entry : kDtypes) {
    if (entry.dtype == dtype) return entry.size;
  }
  return 1;
}

uint64_t TensorInfo::numel() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

const TensorInfo* Header::Find(std::string_view name) const {
  for (const auto& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

uint64_t DecodeHeaderLength(const unsigned char bytes[8]) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  return n;
}

Header ParseHeader(std::string_view header_json, uint64_t file_size, const std::string& source) {
  const uint64_t n = header_json.size();
  if (file_size < 8 || n > file_size - 8) {
    Fail(source, "header of " + std::to_string(n) + " bytes does not fit in a file of " +
                     std::to_string(file_size) + " bytes (truncated?)");
  }
  if (n > kMaxHeaderBytes) Fail(source, "header of " + std::to_string(n) + " bytes is too large");

  nlohmann::json json;
  try {
    nlohmann::json::parser_callback_t limit_depth = [&](int depth, nlohmann::json::parse_event_t,
                                                        nlohmann::json&) -> bool {
      if (depth > kMaxJsonDepth) throw Error(source + ": invalid safetensors file: header JSON nested too deeply");
      return true;
    };
    json = nlohmann::json::parse(header_json.begin(), header_json.end(), limit_depth);
  } catch (const nlohmann::json::exception& e) {
    Fail(source, std::string("header is not valid JSON: ") + Printable(e.what()));
  }
  if (!json.is_object()) Fail(source, "header is not a JSON object");

  Header header;
  header.data_start = 8 + n;
  const uint64_t data_size = file_size - header.data_start;
  for (const auto& [name, entry] : json.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) Fail(source, "__metadata__ is not a JSON object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) Fail(source, "__metadata__ value for '" + Printable(key) + "' is not a string");
        header.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    header.tensors.push_back(ParseEntry(name, entry, source));
  }

  std::stable_sort(header.tensors.begin(), header.tensors.end(),
                   [](const TensorInfo& a, const TensorInfo& b) {
                     return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
                   });
  uint64_t position = 0;
  for (const auto& t : header.tensors) {
    if (t.begin != position) {
      FailTensor(source, t.name, "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                                     "] " + (t.begin < position ? "overlap the previous tensor" : "leave a gap") +
                                     " (expected begin " + std::to_string(position) + ")");
    }
    if (t.end > data_size) {
      FailTensor(source, t.name, "data ends at byte " + std::to_string(t.end) + " of the data section but the file has only " +
                                     std::to_string(data_size) + " data bytes (truncated file?)");
    }
    position = t.end;
  }
  if (position != data_size) {
    Fail(source, "the data section has " + std::to_string(data_size) + " bytes but the tensors cover " +
                     std::to_string(position) + " (trailing bytes)");
  }
  return header;
}

Header ParseFile(std::string_view file_bytes, const std::string& source) {
  if (file_bytes.size() < 8) {
    Fail(source, "file has " + std::to_string(file_bytes.size()) + " bytes, less than the 8-byte header length");
  }
  const uint64_t n = DecodeHeaderLength(reinterpret_cast<const unsigned char*>(file_bytes.data()));
  if (n > file_bytes.size() - 8) {
    Fail(source, "header length " + std::to_string(n) + " exceeds the file size " +
                     std::to_string(file_bytes.size()) + " (truncated?)");
  }
  return ParseHeader(file_bytes.substr(8, n), file_bytes.size(), source);
}

std::string SerializeHeader(const std::vector<TensorSpec>& tensors,
                            const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  if (!metadata.empty()) json["__metadata__"] = metadata;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (t.name == "__metadata__" || !seen.insert(t.name).second) {
      throw Error("safetensors: duplicate or reserved tensor name '" + t.name + "'");
    }
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0 || MulOverflows(numel, static_cast<uint64_t>(d), &numel)) {
        throw Error("safetensors: tensor '" + t.name + "': bad shape");
      }
    }
    uint64_t bytes = 0;
    if (MulOverflows(numel, DtypeSize(t.dtype), &bytes)) throw Error("safetensors: tensor '" + t.name + "': too large");
    json[t.name] = {{"dtype", DtypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = json.dump();
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');
  std::string out(8, '\0');
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += text;
  return out;
}

}  // namespace bertfleet::safetensors
