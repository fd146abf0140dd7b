// Regression tests for the bugs the libFuzzer targets in tests/fuzz found, one per bug, so they
// stay fixed in the ordinary (g++, no sanitizer) test run too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "error_of.h"
#include "common/config/job_spec.h"
#include "common/data/mrpc_dataset.h"
#include "common/data/table_file.h"
#include "common/text/bert_tokenizer.h"
#include "common/text/utf8.h"
#include "common/util/error.h"

namespace bertfleet {
namespace {

namespace fs = std::filesystem;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

using testing::ErrorOf;

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& suffix = "")
      : path_(fs::temp_directory_path() /
              ("bertfleet-fuzz-regression-" + std::to_string(getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + suffix)) {
    fs::create_directories(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  fs::path Write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path_ / name, std::ios::binary) << bytes;
    return path_ / name;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(Utf8ForMessages, ReplaceMalformedKeepsValidTextAndMarksEveryBadByte) {
  EXPECT_EQ(utf8::ReplaceMalformed("caf\xC3\xA9 \xEF\xBF\xBD"), "caf\xC3\xA9 \xEF\xBF\xBD");
  EXPECT_EQ(utf8::ReplaceMalformed("a\xFF" "b\xC3"), "a?b?");
  EXPECT_EQ(utf8::ReplaceMalformed("\xE4\xB8"), "??");  // a truncated 3-byte character
  EXPECT_EQ(utf8::ReplaceMalformed("\xED\xA0\x80"), "???");  // an encoded surrogate
}

TEST(Utf8ForMessages, TruncateNeverSplitsACharacter) {
  const std::string text = "ab\xE4\xB8\xAD";  // "ab" + one 3-byte character
  EXPECT_EQ(utf8::TruncateAtCharBoundary(text, 5), text);
  EXPECT_EQ(utf8::TruncateAtCharBoundary(text, 4), "ab");
  EXPECT_EQ(utf8::TruncateAtCharBoundary(text, 3), "ab");
  EXPECT_EQ(utf8::TruncateAtCharBoundary(text, 2), "ab");
  EXPECT_EQ(utf8::TruncateAtCharBoundary(text, 1), "a");
}

// job_spec_fuzzer: a string value that is not UTF-8 parsed, and ToJson().dump() (checkpoints,
// the coordinator) then threw nlohmann::json::type_error instead of a clear error at submit.
TEST(JobSpecFuzzRegression, StringValuesMustBeUtf8) {
  EXPECT_EQ(ErrorOf([] { ParseJobSpec("model: \"ab\xD4\"\n", "job.yaml"); }),
            "job.yaml: model: must be valid UTF-8 (got \"ab?\")");
  EXPECT_EQ(ErrorOf([] { ParseJobSpec("data: x\xD4\n", "job.yaml"); }),
            "job.yaml: data: must be valid UTF-8 (got \"x?\")");
  EXPECT_EQ(ErrorOf([] {
              ParseJobSpec("model_config_overrides:\n  hidden_act: \"g\xFF" "elu\"\n", "job.yaml");
            }),
            "job.yaml: model_config_overrides: hidden_act: must be valid UTF-8 (got \"g?elu\")");
  const JobSpec spec = ParseJobSpec("model: caf\xC3\xA9\n", "job.yaml");  // valid UTF-8 is fine
  EXPECT_EQ(spec.ToJson().at("model"), "caf\xC3\xA9");
}

// job_spec_fuzzer: messages quoted raw bytes (values, keys, yaml-cpp's own diagnostics), so the
// error itself could not be sent as a protobuf string or read as a UTF-8 gRPC status.
TEST(JobSpecFuzzRegression, ErrorMessagesAreValidUtf8) {
  const std::vector<std::function<void()>> bad_inputs = {
      [] { ParseJobSpec("seed: \"\xFF\xFE\"\n", "job.yaml"); },
      [] { ParseJobSpec("\xFF\xFEkey: 1\n", "job.yaml"); },
      [] { ParseJobSpec("a: \"\\\xD4\"\n", "job.yaml"); },  // yaml-cpp: unknown escape character
      [] { ParseJobSpec("task: \xE4\xB8\n", "job.yaml"); },
      [] {
        JobSpec spec;
        ApplyJobSpecOverrides(spec, {"\xC3", "eval_strategy=\"\\\xD4\""}, "job.yaml");
      },
  };
  for (const auto& bad_input : bad_inputs) {
    const std::string message = ErrorOf(bad_input);
    EXPECT_THAT(message, HasSubstr("job.yaml"));
    EXPECT_TRUE(utf8::IsValid(message)) << message;
  }
  // Shortened quotes end on a character boundary: 79 ASCII bytes, then a 2-byte character.
  const std::string long_value = std::string(79, 'x') + "\xC3\xA9" + "tail";
  const std::string message = ErrorOf([&] { ParseJobSpec("task: " + long_value, "job.yaml"); });
  EXPECT_TRUE(utf8::IsValid(message)) << message;
  EXPECT_THAT(message, HasSubstr("\"" + std::string(79, 'x') + "\"... (85 characters)"));
}

// job_spec_fuzzer: every unknown key got a message with an edit-distance suggestion against
// every known key, so a megabyte spec of made-up keys kept the coordinator busy for seconds and
// produced an error far larger than a gRPC status can carry.
TEST(JobSpecFuzzRegression, ManyUnknownKeysGiveABoundedMessage) {
  std::string yaml;
  for (int i = 0; i < 5000; ++i) yaml += "made_up_key_" + std::to_string(i) + ": 1\n";
  const std::string message = ErrorOf([&] { ParseJobSpec(yaml, "job.yaml"); });
  EXPECT_THAT(message, HasSubstr("job.yaml: made_up_key_0: unknown key; did you mean"));
  EXPECT_THAT(message, EndsWith("job.yaml: ... and 4990 more problems"));
  EXPECT_LT(message.size(), 8192u);

  const std::string long_key(1000, 'k');  // yaml-cpp's limit for a plain key is 1024
  EXPECT_THAT(ErrorOf([&] { ParseJobSpec(long_key + ": 1\n", "job.yaml"); }),
              EndsWith("... (1000 characters): unknown key"));
}

// job_spec_fuzzer: yaml-cpp's LoadAll never returned on a stray "," (an endless run of empty
// documents); a regression hangs here until CTest's timeout.
TEST(JobSpecFuzzRegression, StrayCommaDoesNotHangTheParser) {
  for (const std::string yaml : {",", ",}", ",\x19%}", "a: 1\n---\nb: 2\n"}) {
    EXPECT_THAT(ErrorOf([&] { ParseJobSpec(yaml, "job.yaml"); }), HasSubstr("job.yaml: ")) << yaml;
  }
  EXPECT_THAT(ErrorOf([&] { ParseJobSpec("a: 1\n---\nb: 2\n---\nc: 3\n", "job.yaml"); }),
              HasSubstr("expected one YAML document (got 3)"));
}

// glue_tsv_fuzzer: a bad field was quoted as its first 40 raw bytes, which could be invalid
// UTF-8 or end inside a character.
TEST(GlueTsvFuzzRegression, ErrorMessagesAreValidUtf8) {
  ScratchDir dir;
  const fs::path bad_header = dir.Write("header.tsv", "\xFF" "f\"\n0\t1\ta\tb\n");
  const std::string header_error = ErrorOf([&] { ReadGlueTsv(bad_header); });
  EXPECT_THAT(header_error, HasSubstr(bad_header.string() + ":1: expected the header"));
  EXPECT_THAT(header_error, HasSubstr("got '?f\"'"));

  const std::string idx = std::string(39, '1') + "\xC3\xA9";  // the 40-byte cut falls inside é
  const fs::path bad_idx =
      dir.Write("idx.tsv", "idx\tlabel\tsentence1\tsentence2\n" + idx + "\t1\ta\tb\n");
  const std::string idx_error = ErrorOf([&] { ReadGlueTsv(bad_idx); });
  EXPECT_THAT(idx_error, HasSubstr(bad_idx.string() + ":2: bad idx '" + std::string(39, '1') +
                                   "...', expected an integer >= 0"));
  EXPECT_TRUE(utf8::IsValid(idx_error)) << idx_error;
}

// tokenizer_files_fuzzer: nlohmann's parse error quotes the bytes it stopped at.
TEST(TokenizerFilesFuzzRegression, InvalidJsonMessageIsValidUtf8) {
  ScratchDir dir;
  dir.Write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
  const fs::path config = dir.Write("tokenizer_config.json", "\xD4\xFF");
  const std::string message = ErrorOf([&] { BertTokenizer::FromModelDir(dir.path()); });
  EXPECT_THAT(message, HasSubstr(config.string() + ": invalid JSON"));
  EXPECT_TRUE(utf8::IsValid(message)) << message;
  EXPECT_THAT(message, Not(HasSubstr("\xFF")));
}

// tokenizer_files_fuzzer: an id of 2^31 - 1 in tokenizer.json sized the id table to 2^31
// strings (64 GiB) and the process died; an added token past vocab.txt produced ids beyond the
// vocabulary, which would index past the model's embeddings.
TEST(TokenizerFilesFuzzRegression, TokenIdsMustLieInsideTheVocabulary) {
  ScratchDir json_dir("-json");
  const fs::path tokenizer_json = json_dir.Write(
      "tokenizer.json",
      R"({"model": {"vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 2147483647}},)"
      R"( "pre_tokenizer": {"type": "BertPreTokenizer"}})");
  EXPECT_EQ(ErrorOf([&] { BertTokenizer::FromModelDir(json_dir.path()); }),
            tokenizer_json.string() + ": token id 2147483647 is beyond the 4 tokens the file defines");

  ScratchDir vocab_dir("-vocab");
  const fs::path vocab = vocab_dir.Write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
  const fs::path config = vocab_dir.Write(
      "tokenizer_config.json", R"({"added_tokens_decoder": {"4": {"content": "[X]"}}})");
  EXPECT_EQ(ErrorOf([&] { BertTokenizer::FromModelDir(vocab_dir.path()); }),
            config.string() + ": added token '[X]' has id 4, outside " + vocab.string() +
                " (4 tokens)");
}

}  // namespace
}  // namespace bertfleet

namespace bertfleet {
namespace {

// own_files_fuzzer: a JSON number too large for a double made nlohmann throw out_of_range, not
// parse_error, which escaped as an uncaught exception instead of an Error naming the file.
TEST(OwnFilesFuzzRegression, AnOverflowingJsonNumberIsAnErrorNamingTheFile) {
  ScratchDir dir;
  const fs::path lines = dir.Write("data.jsonl", "{\"text\": \"a\", \"label\": 0.2455511051e255302}\n");
  EXPECT_THAT(ErrorOf([&] { ReadTableFile(lines); }), HasSubstr(lines.string() + ":1: malformed JSON"));
  const fs::path array = dir.Write("data.json", "[{\"text\": \"a\", \"label\": 1e999999}]");
  EXPECT_THAT(ErrorOf([&] { ReadTableFile(array); }), HasSubstr(array.string() + ": malformed JSON"));
}

}  // namespace
}  // namespace bertfleet
