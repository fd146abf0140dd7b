#include "common/model/safetensors_format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "common/util/error.h"

namespace bertfleet::safetensors {
namespace {

std::string LengthPrefix(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

// A file with the given JSON header and `data_bytes` zero bytes of data.
std::string MakeFile(const std::string& header, size_t data_bytes) {
  return LengthPrefix(header.size()) + header + std::string(data_bytes, '\0');
}

// Expects ParseFile to throw an Error whose message contains every fragment.
void ExpectError(const std::string& file, std::initializer_list<std::string> fragments) {
  try {
    ParseFile(file, "weights/model.safetensors");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("weights/model.safetensors"), std::string::npos) << message;
    for (const auto& fragment : fragments) {
      EXPECT_NE(message.find(fragment), std::string::npos) << "'" << fragment << "' not in: " << message;
    }
  }
}

TEST(SafetensorsFormat, ParsesValidHeaderSortedByOffset) {
  const std::string header =
      R"({"b": {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]},)"
      R"( "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},)"
      R"( "__metadata__": {"format": "pt"}})";
  const Header h = ParseFile(MakeFile(header, 40), "x");
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.tensors[0].name, "a");
  EXPECT_EQ(h.tensors[0].dtype, Dtype::kF32);
  EXPECT_EQ(h.tensors[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(h.tensors[0].numel(), 6u);
  EXPECT_EQ(h.tensors[1].name, "b");
  EXPECT_EQ(h.tensors[1].begin, 24u);
  EXPECT_EQ(h.tensors[1].end, 40u);
  EXPECT_EQ(h.data_start, 8 + header.size());
  EXPECT_EQ(h.metadata.at("format"), "pt");
  ASSERT_NE(h.Find("b"), nullptr);
  EXPECT_EQ(h.Find("c"), nullptr);
}

TEST(SafetensorsFormat, ScalarAndEmptyTensors) {
  const std::string header =
      R"({"s": {"dtype": "BF16", "shape": [], "data_offsets": [0, 2]},)"
      R"( "e": {"dtype": "F32", "shape": [0, 5], "data_offsets": [2, 2]}})";
  const Header h = ParseFile(MakeFile(header, 2), "x");
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.Find("s")->numel(), 1u);
  EXPECT_EQ(h.Find("e")->numel(), 0u);
}

TEST(SafetensorsFormat, SerializeRoundTrip) {
  std::vector<TensorSpec> specs = {{"w", Dtype::kF32, {3, 2}}, {"ids", Dtype::kI64, {5}}, {"h", Dtype::kF16, {}}};
  const std::string prefix = SerializeHeader(specs, {{"format", "pt"}});
  EXPECT_EQ(prefix.size() % 8, 0u);
  const Header h = ParseFile(prefix + std::string(24 + 40 + 2, '\0'), "x");
  ASSERT_EQ(h.tensors.size(), 3u);
  EXPECT_EQ(h.tensors[0].name, "w");
  EXPECT_EQ(h.tensors[1].name, "ids");
  EXPECT_EQ(h.tensors[1].begin, 24u);
  EXPECT_EQ(h.tensors[2].name, "h");
  EXPECT_EQ(h.tensors[2].end, 66u);
  EXPECT_EQ(h.data_start, prefix.size());
  EXPECT_EQ(h.metadata.at("format"), "pt");
  EXPECT_THROW(SerializeHeader({{"a", Dtype::kF32, {1}}, {"a", Dtype::kF32, {1}}}, {}), Error);
  EXPECT_THROW(SerializeHeader({{"__metadata__", Dtype::kF32, {1}}}, {}), Error);
}

TEST(SafetensorsFormat, TooShortAndTruncatedFiles) {
  ExpectError("", {"less than the 8-byte header length"});
  ExpectError("abc", {"less than the 8-byte header length"});
  ExpectError(LengthPrefix(1000) + "{}", {"header length 1000 exceeds the file size"});
  ExpectError(LengthPrefix(UINT64_MAX) + "{}", {"exceeds the file size"});
  // Data section shorter than the offsets promise.
  const std::string header = R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})";
  ExpectError(MakeFile(header, 10), {"tensor 'w'", "truncated"});
  // Trailing garbage after the last tensor.
  ExpectError(MakeFile(header, 20), {"trailing bytes"});
}

TEST(SafetensorsFormat, CorruptHeaders) {
  ExpectError(MakeFile("{not json", 0), {"not valid JSON"});
  ExpectError(MakeFile("[1, 2]", 0), {"not a JSON object"});
  ExpectError(MakeFile(R"({"w": 5})", 0), {"tensor 'w'", "not a JSON object"});
  ExpectError(MakeFile(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4), {"tensor 'w'", "dtype"});
  ExpectError(MakeFile(R"({"w": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}})", 4),
              {"tensor 'w'", "unknown dtype 'F33'"});
  ExpectError(MakeFile(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4),
              {"tensor 'w'", "non-negative"});
  ExpectError(MakeFile(R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4),
              {"tensor 'w'", "non-negative"});
  ExpectError(MakeFile(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", 4),
              {"tensor 'w'", "data_offsets"});
  ExpectError(MakeFile(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", 4),
              {"tensor 'w'", "end 0 < begin 4"});
  ExpectError(MakeFile(R"({"__metadata__": {"format": 1}})", 0), {"__metadata__"});
  ExpectError(MakeFile(R"({"__metadata__": []})", 0), {"__metadata__"});
  ExpectError(MakeFile(R"({"w": {"dtype": "F32", "shape": [[1]], "data_offsets": [0, 4]}})", 4),
              {"nested too deeply"});
  std::string deep(100000, '[');
  ExpectError(MakeFile("{\"a\": " + deep, 0), {"nested too deeply"});
}

TEST(SafetensorsFormat, SizeMismatchAndOverflow) {
  ExpectError(MakeFile(R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}})", 12),
              {"tensor 'w'", "span 12 bytes", "needs 16"});
  ExpectError(MakeFile(R"({"w": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})", 0),
              {"tensor 'w'", "overflow"});
  ExpectError(MakeFile(R"({"w": {"dtype": "F64", "shape": [2305843009213693952], "data_offsets": [0, 0]}})", 0),
              {"tensor 'w'", "overflow"});
  ExpectError(MakeFile(R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [18446744073709551615, 0]}})", 0),
              {"tensor 'w'"});
  ExpectError(MakeFile(R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [18446744073709551614, 18446744073709551615]}})", 1),
              {"tensor 'w'", "gap"});
}

TEST(SafetensorsFormat, OverlapsAndGaps) {
  ExpectError(MakeFile(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                       R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", 12),
              {"tensor 'b'", "overlap"});
  ExpectError(MakeFile(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                       R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})", 12),
              {"tensor 'b'", "gap"});
  ExpectError(MakeFile(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", 8),
              {"tensor 'a'", "gap"});
}

// Random mutations of a valid file must either parse or throw Error: never crash or hang.
TEST(SafetensorsFormat, RandomMutationsNeverCrash) {
  const std::string prefix = SerializeHeader(
      {{"embeddings.weight", Dtype::kF32, {4, 3}}, {"ids", Dtype::kI64, {2}}, {"h", Dtype::kBF16, {3}}},
      {{"format", "pt"}});
  const std::string valid = prefix + std::string(48 + 16 + 6, '\x01');
  ASSERT_NO_THROW(ParseFile(valid, "x"));
  std::mt19937 rng(1234);
  int parsed = 0, rejected = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string file = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 4) {
        case 0: file[rng() % file.size()] = static_cast<char>(rng()); break;
        case 1: file.resize(rng() % (file.size() + 1)); break;
        case 2: if (!file.empty()) file[rng() % std::min<size_t>(file.size(), 8)] = static_cast<char>(rng()); break;
        default: {
          const size_t at = file.empty() ? 0 : rng() % file.size();
          file.insert(at, 1, "{}[]\",:0123456789e-"[rng() % 19]);
        }
      }
      if (file.empty()) break;
    }
    try {
      const Header h = ParseFile(file, "x");
      for (const auto& t : h.tensors) ASSERT_LE(h.data_start + t.end, file.size());
      ++parsed;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace bertfleet::safetensors
