// MRPC readers, the Hugging Face-exact split and source resolution, checked against the
// reference copy in ../shared/data/mrpc (identical to HF glue/mrpc).
#include "error_of.h"
#include "common/data/mrpc_dataset.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/data/mrpc_download.h"
#include "common/data/text_lines.h"
#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet {
namespace {

namespace fs = std::filesystem;
using testing::ErrorOf;

fs::path SharedMrpc() { return fs::path(BERTFLEET_SOURCE_DIR).parent_path() / "shared/data/mrpc"; }

// A scratch directory per test, removed afterwards.
class MrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("bertfleet-mrpc-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& name, const std::string& contents) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  fs::path dir_;
};

void ExpectSameRows(const std::vector<SentencePair>& actual,
                    const std::vector<SentencePair>& expected, const std::string& split) {
  ASSERT_EQ(actual.size(), expected.size()) << split;
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(split + " row " + std::to_string(i));
    EXPECT_EQ(actual[i].idx, expected[i].idx);
    EXPECT_EQ(actual[i].label, expected[i].label);
    ASSERT_EQ(actual[i].sentence1, expected[i].sentence1);
    ASSERT_EQ(actual[i].sentence2, expected[i].sentence2);
  }
}

TEST(TextLinesTest, SplitsLikePythonUniversalNewlines) {
  EXPECT_EQ(SplitLines("a\r\nb\rc\nd"), (std::vector<std::string_view>{"a", "b", "c", "d"}));
  EXPECT_EQ(SplitLines("a\n\nb\n"), (std::vector<std::string_view>{"a", "", "b"}));
  EXPECT_TRUE(SplitLines("").empty());
  EXPECT_EQ(SplitTabs("a\t\"b\"\t\t"), (std::vector<std::string_view>{"a", "\"b\"", "", ""}));
  EXPECT_EQ(ParseInt64("-1"), -1);
  EXPECT_EQ(ParseInt64("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseInt64("-9223372036854775808"), INT64_MIN);
  EXPECT_FALSE(ParseInt64("9223372036854775808"));
  EXPECT_FALSE(ParseInt64("1.0"));
  EXPECT_FALSE(ParseInt64(" 1"));
  EXPECT_FALSE(ParseInt64("-"));
}

TEST_F(MrpcTest, ReadsSharedTrainTsvWithQuotesAsLiteralText) {
  const auto train = ReadGlueTsv(SharedMrpc() / "train.tsv");
  ASSERT_EQ(train.size(), 3668u);
  EXPECT_EQ(train[0].idx, 0);
  EXPECT_EQ(train[0].sentence1,
            "Amrozi accused his brother , whom he called \" the witness \" , of deliberately "
            "distorting his evidence .");
  EXPECT_EQ(train[42].idx, 47);
  EXPECT_EQ(train[42].label, 1);
  EXPECT_EQ(train[42].sentence1,
            "The company has said it plans to restate its earnings for 2000 through 2002 .");
}

TEST_F(MrpcTest, ToleratesCrlfAndBom) {
  const auto rows = ReadGlueTsv(Write("crlf.tsv",
                                      "\xEF\xBB\xBFidx\tlabel\tsentence1\tsentence2\r\n"
                                      "7\t1\tHe said \" hi .\tShe ’s here .\r\n"
                                      "8\t-1\ta\t\r\n"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].idx, 7);
  EXPECT_EQ(rows[0].sentence1, "He said \" hi .");
  EXPECT_EQ(rows[0].sentence2, "She ’s here .");
  EXPECT_EQ(rows[1].label, -1);
  EXPECT_EQ(rows[1].sentence2, "");
}

TEST_F(MrpcTest, MalformedRowsNameFileAndLine) {
  const std::string header = "idx\tlabel\tsentence1\tsentence2\n";
  const fs::path short_row = Write("short.tsv", header + "0\t1\ta\tb\n1\t0\tonly three\n");
  EXPECT_EQ(ErrorOf([&] { ReadGlueTsv(short_row); }),
            short_row.string() + ":3: expected 4 tab-separated fields, got 3");

  const fs::path long_row = Write("long.tsv", header + "0\t1\ta\tb\tc\n");
  EXPECT_EQ(ErrorOf([&] { ReadGlueTsv(long_row); }),
            long_row.string() + ":2: expected 4 tab-separated fields, got 5");

  const fs::path bad_idx = Write("idx.tsv", header + "x1\t1\ta\tb\n");
  EXPECT_EQ(ErrorOf([&] { ReadGlueTsv(bad_idx); }),
            bad_idx.string() + ":2: bad idx 'x1', expected an integer >= 0");

  const fs::path bad_label = Write("label.tsv", header + "0\t1\ta\tb\n1\t2\ta\tb\n");
  EXPECT_EQ(ErrorOf([&] { ReadGlueTsv(bad_label); }),
            bad_label.string() + ":3: bad label '2', expected 0, 1 or -1 (unlabeled)");

  const fs::path blank = Write("blank.tsv", header + "0\t1\ta\tb\n\n1\t1\ta\tb\n");
  EXPECT_EQ(ErrorOf([&] { ReadGlueTsv(blank); }),
            blank.string() + ":3: expected 4 tab-separated fields, got 1");

  const fs::path bad_header = Write("header.tsv", "Quality\t#1 ID\n");
  EXPECT_NE(ErrorOf([&] {
              ReadGlueTsv(bad_header);
            }).find(bad_header.string() + ":1: expected the header"),
            std::string::npos);

  const fs::path empty = Write("empty.tsv", "");
  EXPECT_NE(ErrorOf([&] { ReadGlueTsv(empty); }).find(empty.string() + ": empty file"),
            std::string::npos);

  EXPECT_NE(ErrorOf([&] { ReadGlueTsv(dir_ / "missing.tsv"); }).find("missing.tsv: cannot open"),
            std::string::npos);
}

TEST_F(MrpcTest, WriteReproducesSharedTsvByteForByte) {
  const auto validation = ReadGlueTsv(SharedMrpc() / "validation.tsv");
  WriteGlueTsv(dir_ / "validation.tsv", validation);
  EXPECT_EQ(ReadFileToString(dir_ / "validation.tsv"),
            ReadFileToString(SharedMrpc() / "validation.tsv"));

  SentencePair bad{3, 1, "tab\there", "b"};
  const std::string message = ErrorOf([&] { WriteGlueTsv(dir_ / "bad.tsv", {bad}); });
  EXPECT_NE(message.find("row idx 3"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir_ / "bad.tsv"));
}

TEST_F(MrpcTest, RawSplitEqualsHuggingFaceRowForRow) {
  const MrpcSplits splits = BuildMrpcFromRawFiles(SharedMrpc() / "raw");
  ExpectSameRows(splits.train, ReadGlueTsv(SharedMrpc() / "train.tsv"), "train");
  ExpectSameRows(splits.validation, ReadGlueTsv(SharedMrpc() / "validation.tsv"), "validation");
  ExpectSameRows(splits.test, ReadGlueTsv(SharedMrpc() / "test.tsv"), "test");
  // The facts the README states, so a wrong reference copy would not go unnoticed either.
  EXPECT_EQ(splits.validation[0].idx, 9);
  EXPECT_EQ(splits.test.back().idx, 1724);
  int positives[3] = {0, 0, 0};
  for (const auto& row : splits.train) positives[0] += row.label;
  for (const auto& row : splits.validation) positives[1] += row.label;
  for (const auto& row : splits.test) positives[2] += row.label;
  EXPECT_EQ(positives[0], 2474);
  EXPECT_EQ(positives[1], 279);
  EXPECT_EQ(positives[2], 1147);
}

TEST_F(MrpcTest, RawSplitMatchesIdPairsNotSingleIds) {
  const std::string header = "\xEF\xBB\xBFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n";
  Write("msr_paraphrase_train.txt", header +
                                        "1\t10\t11\ta \" b\tc\n"
                                        "0\t10\t12\td\te\n"  // shares only #1 ID with a dev pair
                                        "\n"  // skipped, not counted (csv.DictReader)
                                        "1\t20\t21\tf\tg\r\n");
  Write("mrpc_dev_ids.tsv", "10\t11\n20\t21\n");
  Write("msr_paraphrase_test.txt", header + "0\t1\t2\tx\ty\n");
  const MrpcSplits splits = BuildMrpcFromRawFiles(dir_);
  ASSERT_EQ(splits.train.size(), 1u);
  EXPECT_EQ(splits.train[0].idx, 1);
  EXPECT_EQ(splits.train[0].sentence1, "d");
  ASSERT_EQ(splits.validation.size(), 2u);
  EXPECT_EQ(splits.validation[0].idx, 0);
  EXPECT_EQ(splits.validation[0].sentence1, "a \" b");
  EXPECT_EQ(splits.validation[1].idx, 2);
  EXPECT_EQ(splits.validation[1].sentence2, "g");
  ASSERT_EQ(splits.test.size(), 1u);
  EXPECT_EQ(splits.test[0].label, 0);
}

TEST_F(MrpcTest, RawFileErrorsNameFileAndLine) {
  const std::string header = "\xEF\xBB\xBFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n";
  const fs::path train = Write("msr_paraphrase_train.txt", header + "1\t1\t2\ta\tb\n1\t3\t4\tc\n");
  Write("mrpc_dev_ids.tsv", "1\t2\n");
  const fs::path test = Write("msr_paraphrase_test.txt", header + "x\t1\t2\ta\tb\n");
  EXPECT_EQ(ErrorOf([&] { BuildMrpcFromRawFiles(dir_); }),
            train.string() + ":3: expected 5 tab-separated fields, got 4");
  Write("msr_paraphrase_train.txt", header);
  EXPECT_EQ(ErrorOf([&] { BuildMrpcFromRawFiles(dir_); }),
            test.string() + ":2: bad Quality 'x', expected 0 or 1");
  fs::remove(dir_ / "mrpc_dev_ids.tsv");
  EXPECT_NE(ErrorOf([&] { BuildMrpcFromRawFiles(dir_); }).find("mrpc_dev_ids.tsv: missing"),
            std::string::npos);
}

TEST_F(MrpcTest, LoadsFromTsvDirectoryRawDirectoryAndRejectsOthers) {
  const auto from_tsv = LoadMrpcSplit(SharedMrpc().string(), "validation", dir_);
  const auto from_raw = LoadMrpcSplit((SharedMrpc() / "raw").string(), "validation", dir_);
  ExpectSameRows(from_raw, from_tsv, "validation");
  EXPECT_EQ(LoadMrpcSplit((SharedMrpc() / "raw").string(), "test", dir_).size(), 1725u);

  const std::string nothing = ErrorOf([&] { LoadMrpcSplit(dir_.string(), "train", dir_); });
  for (const char* looked_for : {"train.tsv", "msr_paraphrase_train.txt", "mrpc_dev_ids.tsv",
                                 "msr_paraphrase_test.txt", "download"}) {
    EXPECT_NE(nothing.find(looked_for), std::string::npos) << nothing;
  }
  EXPECT_NE(ErrorOf([&] {
              LoadMrpcSplit((dir_ / "nope").string(), "train", dir_);
            }).find("neither a directory nor the word 'download'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              LoadMrpcSplit(SharedMrpc().string(), "dev", dir_);
            }).find("unknown MRPC split 'dev'"),
            std::string::npos);
}

TEST_F(MrpcTest, RemoteFilesCarryPublishedChecksumsOfTheSharedRawFiles) {
  ::unsetenv("BERTFLEET_MRPC_BASE_URL");
  const auto files = MrpcRemoteFiles();
  ASSERT_EQ(files.size(), 3u);
  for (const RemoteFile& file : files) {
    EXPECT_EQ(Sha256OfFile(SharedMrpc() / "raw" / file.name), file.sha256) << file.name;
    EXPECT_EQ(file.url.rfind("https://dl.fbaipublicfiles.com/", 0), 0u) << file.url;
    EXPECT_EQ(file.url.substr(file.url.size() - file.name.size()), file.name);
  }
  EXPECT_EQ(MrpcRemoteFiles("http://mirror/x/")[1].url, "http://mirror/x/msr_paraphrase_train.txt");
  ::setenv("BERTFLEET_MRPC_BASE_URL", "http://env-mirror", 1);
  EXPECT_EQ(MrpcRemoteFiles()[0].url, "http://env-mirror/mrpc_dev_ids.tsv");
  EXPECT_EQ(MrpcRemoteFiles("http://arg")[0].url, "http://arg/mrpc_dev_ids.tsv");
  ::unsetenv("BERTFLEET_MRPC_BASE_URL");
}

// file:// exercises the same libcurl path (resume, verify, rename) without a server; the HTTP
// behaviour (Range, errors, offline) is covered by tests/python/test_mrpc_download.py.
TEST_F(MrpcTest, DownloadVerifiedFromFileUrlsResumesAndRejectsBadChecksums) {
  auto files = MrpcRemoteFiles("file://" + (SharedMrpc() / "raw").string());
  const std::string train = ReadFileToString(SharedMrpc() / "raw/msr_paraphrase_train.txt");
  const fs::path cache = dir_ / "cache";
  fs::create_directories(cache);
  Write("cache/msr_paraphrase_train.txt.part", train.substr(0, train.size() / 2));
  DownloadVerified(files, cache);
  for (const RemoteFile& file : files) {
    EXPECT_EQ(Sha256OfFile(cache / file.name), file.sha256);
    EXPECT_FALSE(fs::exists(cache / (file.name + ".part")));
  }
  ExpectSameRows(LoadMrpcSplit(cache.string(), "train", dir_),
                 ReadGlueTsv(SharedMrpc() / "train.tsv"), "train");

  files[2].sha256 = std::string(64, '0');
  fs::remove(cache / files[2].name);
  const std::string message = ErrorOf([&] { DownloadVerified(files, cache); });
  EXPECT_NE(message.find("msr_paraphrase_test.txt: sha256 mismatch"), std::string::npos) << message;
  EXPECT_NE(message.find("expected " + std::string(64, '0')), std::string::npos) << message;
  EXPECT_NE(message.find("got a04e271090879aaba6423d65b94950c089298587d9c084bf9cd7439bd785f784"),
            std::string::npos)
      << message;
  EXPECT_FALSE(fs::exists(cache / files[2].name));
  EXPECT_FALSE(fs::exists(cache / (files[2].name + ".part")));

  RemoteFile missing{"absent.txt", "file://" + (dir_ / "absent.txt").string(), files[0].sha256};
  EXPECT_NE(
      ErrorOf([&] { DownloadVerified({missing}, cache); }).find("cannot download " + missing.url),
      std::string::npos);
}

TEST(DefaultCacheDirTest, FollowsEnvironmentPrecedence) {
  ::setenv("BERTFLEET_CACHE", "/tmp/bf-cache", 1);
  ::setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  EXPECT_EQ(DefaultCacheDir(), fs::path("/tmp/bf-cache"));
  ::unsetenv("BERTFLEET_CACHE");
  EXPECT_EQ(DefaultCacheDir(), fs::path("/tmp/xdg/bertfleet"));
  ::unsetenv("XDG_CACHE_HOME");
  ::setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(DefaultCacheDir(), fs::path("/home/someone/.cache/bertfleet"));
}

}  // namespace
}  // namespace bertfleet
