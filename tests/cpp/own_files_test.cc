// Your own files (table_file.h, own_files_task.h): CSV/TSV quoting as Python's csv module writes
// it, JSON Lines and JSON arrays, run_glue.py's column choice and label order, regression when
// labels are floats, and every bad input named by file, line and column before training.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/data/own_files_task.h"
#include "common/data/table_file.h"
#include "common/data/upload_reference.h"
#include "tests/cpp/error_of.h"
#include "tests/cpp/scratch_dir.h"

namespace bertfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ErrorOf;

class OwnFilesTest : public testing::ScratchDirTest {
 protected:
  TableFile Read(const std::string& name, const std::string& content) {
    return ReadTableFile(WriteFile(name, content));
  }
  std::string ReadError(const std::string& name, const std::string& content) {
    const std::string path = WriteFile(name, content).string();
    std::string message = ErrorOf([&] { ReadTableFile(path); });
    // Messages start with the path; tests compare what follows the file name.
    return message.rfind(path, 0) == 0 ? name + message.substr(path.size()) : message;
  }
  std::string TaskError(const std::string& name, const std::string& content, const OwnFilesColumns& columns = {}) {
    const TableFile table = Read(name, content);
    std::string message = ErrorOf([&] { OwnFilesExamples(table, OwnFilesTask(table, columns), columns, true); });
    return message.rfind(table.path, 0) == 0 ? name + message.substr(table.path.size()) : message;
  }
};

TEST_F(OwnFilesTest, CsvQuotingAsPythonsCsvModuleWritesIt) {
  // Commas and doubled quotes inside quotes, a line break inside a quoted field, CRLF endings, a
  // blank line (skipped, as pandas does) and a byte order mark.
  const TableFile table = Read("a.csv",
                               "\xEF\xBB\xBFtext,label\r\n"
                               "\"Hello, world\",yes\r\n"
                               "\r\n"
                               "\"He said \"\"no\"\"\",no\r\n"
                               "\"two\nlines\",yes\r\n"
                               "plain,no");
  EXPECT_THAT(table.columns, ElementsAre("text", "label"));
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_EQ(table.rows[0].cells[0].text, "Hello, world");
  EXPECT_EQ(table.rows[1].cells[0].text, "He said \"no\"");
  EXPECT_EQ(table.rows[1].line, 4u);
  EXPECT_EQ(table.rows[2].cells[0].text, "two\nlines");
  EXPECT_EQ(table.rows[3].line, 7u);  // the quoted line break counts
  EXPECT_EQ(table.rows[3].cells[1].text, "no");
}

TEST_F(OwnFilesTest, TsvJsonLinesAndJsonArraysKeepColumnOrder) {
  const TableFile tsv = Read("a.tsv", "b\ta\n\"x\ty\"\t1\n");
  EXPECT_THAT(tsv.columns, ElementsAre("b", "a"));
  EXPECT_EQ(tsv.rows[0].cells[0].text, "x\ty");
  const TableFile lines = Read("a.jsonl", "{\"z\": \"first\", \"a\": 1}\n\n{\"a\": 2.5, \"z\": \"second\", \"extra\": null}\n");
  EXPECT_THAT(lines.columns, ElementsAre("z", "a", "extra"));  // first appearance, not sorted
  EXPECT_EQ(lines.rows[1].line, 3u);
  EXPECT_EQ(lines.rows[0].cells[1].kind, TableCell::Kind::kNumber);
  EXPECT_EQ(lines.rows[0].cells[2].kind, TableCell::Kind::kNull);  // a key the record lacks
  const TableFile array = Read("a.json", "[{\"s\": \"one\", \"label\": true}, {\"s\": \"two\", \"label\": false}]");
  EXPECT_EQ(array.rows[1].record, 2u);
  EXPECT_EQ(array.rows[1].cells[1].text, "false");
  EXPECT_EQ(array.Where(array.rows[1]), array.path + ": record 2: ");
  // JSON Lines in a .json file, which the datasets json builder also reads.
  EXPECT_EQ(Read("b.json", "{\"s\": \"one\"}\n{\"s\": \"two\"}\n").rows.size(), 2u);
}

TEST_F(OwnFilesTest, MalformedFilesNameTheFileAndLine) {
  EXPECT_EQ(ReadError("r.csv", "a,b\n1,2\n3\n"), "r.csv:3: expected 2 comma-separated fields as in the header, got 1");
  EXPECT_EQ(ReadError("r.tsv", "a\tb\n1\t2\t3\n"), "r.tsv:2: expected 2 tab-separated fields as in the header, got 3");
  EXPECT_EQ(ReadError("q.csv", "a,b\n1,2\n\"open,3\n4,5\n"),
            "q.csv:3: unterminated quoted field (a '\"' opened on this line is never closed)");
  EXPECT_EQ(ReadError("u.csv", "a,b\nok,1\nbad\xff,2\n"), "u.csv:3: invalid UTF-8");
  EXPECT_EQ(ReadError("e.csv", ""), "e.csv: empty file, expected a header row of column names");
  EXPECT_EQ(ReadError("h.csv", "a,b\n"), "h.csv: no rows after the header");
  EXPECT_EQ(ReadError("d.csv", "a,a\n1,2\n"), "d.csv:1: column 'a' appears twice in the header");
  EXPECT_EQ(ReadError("e.jsonl", "\n\n"), "e.jsonl: empty file, expected JSON objects, one per line");
  EXPECT_EQ(ReadError("o.jsonl", "{}\n{}\n"), "o.jsonl: no columns (every record is an empty object)");
  EXPECT_THAT(ReadError("m.jsonl", "{\"a\": 1}\n{\"a\": \n"), HasSubstr("m.jsonl:2: malformed JSON"));
  EXPECT_EQ(ReadError("n.jsonl", "{\"a\": 1}\n[1, 2]\n"), "n.jsonl:2: expected a JSON object of column values, got array");
  EXPECT_EQ(ReadError("n.json", "[{\"a\": 1}, 7]"), "n.json: record 2: expected a JSON object of column values, got number");
  EXPECT_THAT(ReadError("x.parquet", "PAR1"), HasSubstr("x.parquet: unknown file type '.parquet'; expected one of csv, tsv, json, jsonl"));
  EXPECT_EQ(ErrorOf([&] { ReadTableFile(dir_ / "missing.csv"); }), (dir_ / "missing.csv").string() + ": no such file");
}

TEST_F(OwnFilesTest, ColumnsAreChosenAsRunGluePyChoosesThem) {
  // sentence1/sentence2 when both exist, wherever they are.
  EXPECT_THAT(OwnFilesTask(Read("a.csv", "idx,sentence2,label,sentence1\n0,b,x,a\n1,d,y,c\n"), {}).text_columns,
              ElementsAre("sentence1", "sentence2"));
  // Else the first two columns other than the label.
  EXPECT_THAT(OwnFilesTask(Read("b.csv", "label,q,p,r\nx,a,b,c\ny,a,b,c\n"), {}).text_columns, ElementsAre("q", "p"));
  // Else the one.
  EXPECT_THAT(OwnFilesTask(Read("c.csv", "text,label\na,x\nb,y\n"), {}).text_columns, ElementsAre("text"));
  OwnFilesColumns named;
  named.text_column_names = " r , q ";
  named.label_column_name = "p";
  EXPECT_THAT(OwnFilesTask(Read("d.csv", "label,q,p,r\nx,a,b,c\ny,a,z,c\n"), named).text_columns, ElementsAre("r", "q"));
  named.text_column_names = "q,r,label";
  EXPECT_THAT(TaskError("e.csv", "label,q,p,r\nx,a,b,c\ny,a,z,c\n", named),
              HasSubstr("text_column_names: expected one or two comma-separated column names"));
  named.text_column_names = "nope";
  EXPECT_EQ(TaskError("f.csv", "label,q,p,r\nx,a,b,c\n", named),
            "f.csv:1: no column 'nope' (text_column_names); the file has columns label, q, p, r");
  EXPECT_EQ(TaskError("g.csv", "text,target\na,1\n"),
            "g.csv:1: no column 'label' (label_column_name); the file has columns text, target");
}

TEST_F(OwnFilesTest, LabelsAreSortedAsRunGluePySortsItsLabelList) {
  const std::string strings = "text,label\na,yes\nb,no\nc,maybe\nd,no\n";
  const TableFile table = Read("s.csv", strings);
  const GlueTask task = OwnFilesTask(table, {});
  EXPECT_THAT(task.label_names, ElementsAre("maybe", "no", "yes"));
  EXPECT_THAT(task.metrics, ElementsAre("accuracy", "macro_f1"));
  const std::vector<SentencePair> rows = OwnFilesExamples(table, task, {}, true);
  EXPECT_EQ(rows[0].label, 2);
  EXPECT_EQ(rows[2].label, 0);
  EXPECT_EQ(rows[3].idx, 3);
  // Integers by value (10 after 9, as Python sorts ints), and two classes report f1 too.
  const GlueTask numbers = OwnFilesTask(Read("n.tsv", "text\tlabel\na\t10\nb\t9\n"), {});
  EXPECT_THAT(numbers.label_names, ElementsAre("9", "10"));
  EXPECT_THAT(numbers.metrics, ElementsAre("accuracy", "f1"));
  // JSON numbers and booleans are labels as well.
  EXPECT_THAT(OwnFilesTask(Read("b.jsonl", "{\"t\": \"a\", \"label\": true}\n{\"t\": \"b\", \"label\": false}\n"), {})
                  .label_names,
              ElementsAre("false", "true"));
}

TEST_F(OwnFilesTest, FloatLabelsMeanRegressionAndDoRegressionDecides) {
  const std::string floats = "text,label\na,0.5\nb,4\nc,3.25\n";
  const TableFile table = Read("f.csv", floats);
  const GlueTask task = OwnFilesTask(table, {});
  EXPECT_TRUE(task.regression());
  EXPECT_THAT(task.metrics, ElementsAre("mse", "pearson", "spearmanr"));
  const std::vector<SentencePair> rows = OwnFilesExamples(table, task, {}, true);
  EXPECT_DOUBLE_EQ(rows[0].score, 0.5);
  EXPECT_DOUBLE_EQ(rows[1].score, 4.0);
  EXPECT_EQ(rows[1].label, -1);
  OwnFilesColumns forced;
  forced.do_regression = true;
  EXPECT_TRUE(OwnFilesTask(Read("i.csv", "text,label\na,1\nb,2\n"), forced).regression());  // integers as targets
  EXPECT_EQ(TaskError("t.csv", "text,label\na,1\nb,high\n", forced),
            "t.csv:3: column label: label 'high' is not a number, and do_regression is true");
  OwnFilesColumns classify;
  classify.do_regression = false;
  EXPECT_THAT(OwnFilesTask(table, classify).label_names, ElementsAre("0.5", "3.25", "4"));
}

TEST_F(OwnFilesTest, BadRowsAreNamedByFileLineAndColumn) {
  EXPECT_EQ(TaskError("m.csv", "text,label\na,yes\nb,\n"),
            "m.csv:3: column label: missing label (empty, null or NaN); every training row needs one");
  EXPECT_EQ(TaskError("e.csv", "text,label\na,yes\n,no\n"), "e.csv:3: column text: empty text");
  EXPECT_EQ(TaskError("n.csv", "text,label\na,0.5\nb,nan\n"),
            "n.csv:3: column label: missing label (empty, null or NaN); every training row needs one");
  EXPECT_EQ(TaskError("j.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": 5, \"label\": 0}\n"),
            "j.jsonl:2: column text: expected text, got '5'");
  EXPECT_EQ(TaskError("k.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"label\": 0}\n"), "k.jsonl:2: column text: missing text");
  EXPECT_EQ(TaskError("o.csv", "text,label\na,yes\nb,yes\n"),
            "o.csv: column label: only one label ('yes') in the file; classification needs at least two (float "
            "labels with do_regression: true train a regression)");
  EXPECT_EQ(TaskError("l.jsonl", "{\"text\": \"a\", \"label\": [1]}\n{\"text\": \"b\", \"label\": 0}\n"),
            "l.jsonl:1: column label: expected a label (text or a number), got '[1]'");
}

TEST_F(OwnFilesTest, ValidationAndTestFilesFollowTheTrainFile) {
  const TableFile train = Read("train.csv", "text,label\na,yes\nb,no\n");
  const GlueTask task = OwnFilesTask(train, {});
  const TableFile validation = Read("dev.csv", "text,label\nc,no\nd,maybe\n");
  EXPECT_EQ(ErrorOf([&] { OwnFilesExamples(validation, task, {}, true); }),
            validation.path + ":3: column label: label 'maybe' does not occur in the train file, whose labels are no, yes");
  const TableFile regression_train = Read("rtrain.csv", "text,label\na,0.5\nb,1.5\n");
  const GlueTask regression = OwnFilesTask(regression_train, {});
  const TableFile nan_dev = Read("rdev.csv", "text,label\nc,1.0\nd,NaN\n");
  EXPECT_EQ(ErrorOf([&] { OwnFilesExamples(nan_dev, regression, {}, true); }),
            nan_dev.path + ":3: column label: NaN target (empty, null or NaN); regression needs a finite number on every row");
  const TableFile inf_dev = Read("idev.csv", "text,label\nc,inf\n");
  EXPECT_EQ(ErrorOf([&] { OwnFilesExamples(inf_dev, regression, {}, true); }),
            inf_dev.path + ":2: column label: bad target 'inf', expected a finite number (regression)");
  // A test file may have no label column; its rows get label -1.
  const TableFile test = Read("test.csv", "text\ne\n");
  const std::vector<SentencePair> rows = OwnFilesExamples(test, task, {}, false);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].label, -1);
  EXPECT_EQ(rows[0].sentence1, "e");
}

}  // namespace
}  // namespace bertfleet

namespace bertfleet {
namespace {

TEST(UploadReferenceTest, ParsesWhatSubmitWritesAndRefusesTheRest) {
  const std::string hex(64, 'a');
  EXPECT_FALSE(ParseUploadReference("data/train.csv").has_value());  // a path
  const auto reference = ParseUploadReference("sha256:" + hex + "/train.csv");
  ASSERT_TRUE(reference.has_value());
  EXPECT_EQ(reference->sha256, hex);
  EXPECT_EQ(reference->name, "train.csv");
  EXPECT_EQ(UploadReferenceText(*reference), "sha256:" + hex + "/train.csv");
  for (const std::string& bad : std::vector<std::string>{"sha256:abc/train.csv", "sha256:" + hex, "sha256:" + hex + "/../x.csv",
                                "sha256:" + std::string(64, 'A') + "/t.csv", "sha256:" + hex + "/"}) {
    EXPECT_NE(testing::ErrorOf([&] { ParseUploadReference(bad); }).find("malformed upload reference"), std::string::npos)
        << bad;
  }
}

}  // namespace
}  // namespace bertfleet
