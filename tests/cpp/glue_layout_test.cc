// Every GLUE task's file layout, built here from real MRPC sentences (no other GLUE data reaches
// these machines) in the GLUE distribution's columns, header conventions and label forms, then
// read back: idx, text columns, label ids in Hugging Face's order; and each bad input's message.
#include "common/data/glue_layout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <functional>

#include "common/data/mrpc_dataset.h"
#include "tests/cpp/error_of.h"
#include "tests/cpp/scratch_dir.h"

namespace bertfleet {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ErrorOf;

const std::vector<SentencePair>& MrpcRows() {
  static const std::vector<SentencePair> rows = [] {
    std::vector<SentencePair> all =
        ReadGlueTsv(fs::path(BERTFLEET_SOURCE_DIR).parent_path() / "shared/data/mrpc/train.tsv");
    all.resize(12);
    return all;
  }();
  return rows;
}

class GlueLayoutTest : public testing::ScratchDirTest {
 protected:

  // glue_data/<TASK>/<file>: a header line (or none) and one line per MRPC row from `line`.
  fs::path Write(const std::string& task, const std::string& file, const std::string& header,
                 const std::function<std::string(const SentencePair&)>& line) {
    const fs::path path = dir_ / "glue_data" / FindGlueTask(task)->glue_directory / file;
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    if (!header.empty()) out << header << "\n";
    for (const SentencePair& row : MrpcRows()) out << line(row) << "\n";
    return path;
  }
  fs::path WriteRaw(const std::string& task, const std::string& file, const std::string& content) {
    const fs::path path = dir_ / "glue_data" / FindGlueTask(task)->glue_directory / file;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  GlueSplitRows Read(const std::string& task, const std::string& split) {
    return ReadGlueSplit(*FindGlueTask(task), dir_ / "glue_data", split);
  }
};

std::string Str(int64_t value) { return std::to_string(value); }

void ExpectPairs(const GlueSplitRows& read, const std::function<int(const SentencePair&)>& label, bool pair = true) {
  ASSERT_EQ(read.rows.size(), MrpcRows().size());
  EXPECT_TRUE(read.skipped.empty());
  for (size_t i = 0; i < read.rows.size(); ++i) {
    const SentencePair& source = MrpcRows()[i];
    EXPECT_EQ(read.rows[i].idx, static_cast<int64_t>(i));  // Hugging Face's idx: the row's position
    EXPECT_EQ(read.rows[i].sentence1, source.sentence1);
    EXPECT_EQ(read.rows[i].sentence2, pair ? source.sentence2 : "");
    EXPECT_EQ(read.rows[i].label, label(source)) << i;
  }
}

TEST_F(GlueLayoutTest, ColaHasNoHeaderInTrainAndDevAndAnIndexHeaderInTest) {
  for (const char* file : {"train.tsv", "dev.tsv"}) {
    Write("cola", file, "", [](const SentencePair& r) {
      return "gj04\t" + Str(r.label) + "\t" + (r.label ? "" : "*") + "\t" + r.sentence1;
    });
  }
  Write("cola", "test.tsv", "index\tsentence", [](const SentencePair& r) { return Str(r.idx) + "\t" + r.sentence1; });
  ExpectPairs(Read("cola", "train"), [](const SentencePair& r) { return r.label; }, false);
  ExpectPairs(Read("cola", "validation"), [](const SentencePair& r) { return r.label; }, false);
  ExpectPairs(Read("cola", "test"), [](const SentencePair&) { return -1; }, false);
}

TEST_F(GlueLayoutTest, Sst2SentenceLabelHeader) {
  Write("sst2", "dev.tsv", "sentence\tlabel", [](const SentencePair& r) { return r.sentence1 + "\t" + Str(r.label); });
  ExpectPairs(Read("sst2", "validation"), [](const SentencePair& r) { return r.label; }, false);
}

TEST_F(GlueLayoutTest, QqpReadsByNameAndReportsTheRowsItSkips) {
  Write("qqp", "train.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate", [](const SentencePair& r) {
    return Str(r.idx) + "\t" + Str(2 * r.idx) + "\t" + Str(2 * r.idx + 1) + "\t" + r.sentence1 + "\t" + r.sentence2 +
           "\t" + Str(r.label);
  });
  ExpectPairs(Read("qqp", "train"), [](const SentencePair& r) { return r.label; });
  // The published file's malformed rows: a question with a line break in it.
  const SentencePair& first = MrpcRows()[0];
  WriteRaw("qqp", "dev.tsv",
           "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
           "0\t1\t2\t" + first.sentence1 + "\t" + first.sentence2 + "\t1\n"
           "1\t3\t4\tWhat is\n"
           "a question?\tAnother\t0\n"
           "2\t5\t6\t" + first.sentence2 + "\t" + first.sentence1 + "\t0\n");
  const GlueSplitRows dev = Read("qqp", "validation");
  ASSERT_EQ(dev.rows.size(), 2u);
  EXPECT_EQ(dev.rows[1].sentence1, first.sentence2);
  ASSERT_EQ(dev.skipped.size(), 2u);
  EXPECT_THAT(dev.skipped[0], HasSubstr("QQP/dev.tsv:3: expected 6 tab-separated fields as in the header, got 4; row skipped"));
  EXPECT_THAT(dev.skipped[1], HasSubstr("QQP/dev.tsv:4:"));
}

TEST_F(GlueLayoutTest, StsbScoresAreFloats) {
  const std::string header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore";
  Write("stsb", "dev.tsv", header, [](const SentencePair& r) {
    return Str(r.idx) + "\tmain-news\tnews.tsv\t2012\t" + Str(r.idx) + "\tnone\tnone\t" + r.sentence1 + "\t" +
           r.sentence2 + "\t" + std::to_string(r.label * 4 + (r.idx % 5) * 0.2);
  });
  const GlueSplitRows read = Read("stsb", "validation");
  ExpectPairs(read, [](const SentencePair&) { return -1; });
  for (size_t i = 0; i < read.rows.size(); ++i) {
    const SentencePair& source = MrpcRows()[i];  // MRPC's own idx skips numbers; the written row keeps it
    EXPECT_NEAR(read.rows[i].score, source.label * 4 + (source.idx % 5) * 0.2, 1e-6);
  }
  WriteRaw("stsb", "train.tsv", header + "\n0\tg\tf\t2012\t0\tn\tn\ta\tb\tnan\n");
  EXPECT_EQ(ErrorOf([&] { Read("stsb", "train"); }),
            (dir_ / "glue_data/STS-B/train.tsv").string() + ":2: column score: bad score 'nan', expected a finite number");
}

TEST_F(GlueLayoutTest, MnliTextFromSentenceColumnsLabelFromGoldLabelNamesMatchedAndMismatched) {
  const std::vector<std::string> names = {"entailment", "neutral", "contradiction"};
  const std::string header =
      "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
      "sentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label";
  for (const char* file : {"dev_matched.tsv", "dev_mismatched.tsv"}) {
    Write("mnli", file, header, [&](const SentencePair& r) {
      return Str(r.idx) + "\t1\t1e\tfiction\t( x )\t( y )\t(ROOT x)\t(ROOT y)\t" + r.sentence1 + "\t" + r.sentence2 +
             "\t" + names[r.idx % 3] + "\t" + names[r.idx % 3];
    });
  }
  for (const char* split : {"validation_matched", "validation_mismatched"}) {
    ExpectPairs(Read("mnli", split), [](const SentencePair& r) { return static_cast<int>(r.idx % 3); });
  }
  EXPECT_EQ(ErrorOf([&] { Read("mnli", "validation"); }),
            "task mnli has no split 'validation' (it has test_matched, test_mismatched, train, validation_matched, "
            "validation_mismatched)");
}

TEST_F(GlueLayoutTest, QnliAndRteStringLabelsWnliIds) {
  Write("qnli", "dev.tsv", "index\tquestion\tsentence\tlabel", [](const SentencePair& r) {
    return Str(r.idx) + "\t" + r.sentence1 + "\t" + r.sentence2 + "\t" + (r.label ? "not_entailment" : "entailment");
  });
  ExpectPairs(Read("qnli", "validation"), [](const SentencePair& r) { return r.label; });
  Write("rte", "dev.tsv", "index\tsentence1\tsentence2\tlabel", [](const SentencePair& r) {
    return Str(r.idx) + "\t" + r.sentence1 + "\t" + r.sentence2 + "\t" + (r.label ? "not_entailment" : "entailment");
  });
  ExpectPairs(Read("rte", "validation"), [](const SentencePair& r) { return r.label; });
  // WNLI's 1 is entailment: the opposite order to RTE's, as in Hugging Face's glue.
  Write("wnli", "dev.tsv", "index\tsentence1\tsentence2\tlabel",
        [](const SentencePair& r) { return Str(r.idx) + "\t" + r.sentence1 + "\t" + r.sentence2 + "\t" + Str(r.label); });
  ExpectPairs(Read("wnli", "validation"), [](const SentencePair& r) { return r.label; });
  EXPECT_EQ(FindGlueTask("wnli")->label_names[1], "entailment");
}

TEST_F(GlueLayoutTest, TheTaskFolderItselfIsAcceptedToo) {
  Write("sst2", "train.tsv", "sentence\tlabel", [](const SentencePair& r) { return r.sentence1 + "\t" + Str(r.label); });
  EXPECT_EQ(ReadGlueSplit(*FindGlueTask("sst2"), dir_ / "glue_data" / "SST-2", "train").rows.size(), MrpcRows().size());
}

TEST_F(GlueLayoutTest, BadInputNamesFileLineAndColumn) {
  const std::string file = (dir_ / "glue_data/RTE/dev.tsv").string();
  WriteRaw("rte", "dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta\tb\tentails\n");
  EXPECT_EQ(ErrorOf([&] { Read("rte", "validation"); }),
            file + ":3: column label: unknown label 'entails', expected one of entailment, not_entailment");
  WriteRaw("rte", "dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\n");
  EXPECT_EQ(ErrorOf([&] { Read("rte", "validation"); }),
            file + ":2: expected 4 tab-separated fields as in the header, got 3");
  WriteRaw("rte", "dev.tsv", "index\tsentence1\tlabel\n0\ta\tentailment\n");
  EXPECT_EQ(ErrorOf([&] { Read("rte", "validation"); }),
            file + ":1: no column 'sentence2' in the header 'index\tsentence1\tlabel' (task rte reads "
                   "sentence1<TAB>sentence2<TAB>label)");
  WriteRaw("rte", "dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\t\xff\xfe\tentailment\n");
  EXPECT_EQ(ErrorOf([&] { Read("rte", "validation"); }), file + ":2: invalid UTF-8");
  WriteRaw("rte", "dev.tsv", "");
  EXPECT_THAT(ErrorOf([&] { Read("rte", "validation"); }), HasSubstr(file + ": empty file, expected a header with"));
  WriteRaw("rte", "dev.tsv", "index\tsentence1\tsentence2\tlabel\n");
  EXPECT_EQ(ErrorOf([&] { Read("rte", "validation"); }), file + ": no rows after the header");
  WriteRaw("cola", "train.tsv", "gj04\t2\t\tA sentence .\n");
  EXPECT_EQ(ErrorOf([&] { Read("cola", "train"); }),
            (dir_ / "glue_data/CoLA/train.tsv").string() +
                ":1: column label: bad label '2', expected 0..1 (unacceptable, acceptable)");
  EXPECT_THAT(ErrorOf([&] { Read("cola", "validation"); }), HasSubstr("CoLA/dev.tsv"));  // missing file
}

}  // namespace
}  // namespace bertfleet
