// Task metrics by hand-worked examples and their edge cases (tests/python/test_task_metrics.py
// compares the same code against scikit-learn and scipy on random and degenerate inputs).
#include "common/train/task_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/train/correlation_metrics.h"
#include "common/train/glue_tasks.h"
#include "tests/cpp/error_of.h"

namespace bertfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ConfusionMatrix Matrix(int num_labels, const std::vector<int>& labels, const std::vector<int>& predictions) {
  ConfusionMatrix matrix(num_labels);
  for (size_t i = 0; i < labels.size(); ++i) matrix.Add(labels[i], predictions[i]);
  return matrix;
}

TEST(ConfusionMatrix, BinaryAccuracyAndF1) {
  const ConfusionMatrix matrix = Matrix(2, {1, 1, 1, 0, 0, 1, 0, 1}, {1, 0, 1, 0, 1, 1, 0, 0});
  EXPECT_EQ(matrix.count(1, 1), 3);
  EXPECT_EQ(matrix.count(1, 0), 2);
  EXPECT_EQ(matrix.count(0, 1), 1);
  EXPECT_EQ(matrix.count(0, 0), 2);
  EXPECT_DOUBLE_EQ(matrix.Accuracy(), 5.0 / 8.0);
  EXPECT_DOUBLE_EQ(matrix.F1(), 2.0 * 3 / (2.0 * 3 + 1 + 2));
  // (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)), the binary form of Matthews.
  EXPECT_DOUBLE_EQ(matrix.MatthewsCorrelation(), (3.0 * 2 - 1 * 2) / std::sqrt(4.0 * 5 * 3 * 4));
}

TEST(ConfusionMatrix, ThreeClassMacroF1AndMatthews) {
  // labels 0 0 1 1 2 2, predictions 0 1 1 1 2 0
  const ConfusionMatrix matrix = Matrix(3, {0, 0, 1, 1, 2, 2}, {0, 1, 1, 1, 2, 0});
  EXPECT_DOUBLE_EQ(matrix.Accuracy(), 4.0 / 6.0);
  const double f1_0 = 2.0 / (2 + 1 + 1), f1_1 = 4.0 / (4 + 1 + 0), f1_2 = 2.0 / (2 + 0 + 1);
  EXPECT_DOUBLE_EQ(matrix.MacroF1(), (f1_0 + f1_1 + f1_2) / 3);
  // t = (2,2,2), p = (2,3,1), c = 4, s = 6.
  const double cov_ytyp = 4.0 * 6 - (2 * 2 + 2 * 3 + 2 * 1), cov_ypyp = 36.0 - (4 + 9 + 1), cov_ytyt = 36.0 - 12;
  EXPECT_DOUBLE_EQ(matrix.MatthewsCorrelation(), cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp));
}

TEST(ConfusionMatrix, DegenerateCasesAreScikitLearns) {
  const ConfusionMatrix negatives = Matrix(2, {0, 0}, {0, 0});
  EXPECT_DOUBLE_EQ(negatives.F1(), 0.0);  // zero_division: 0
  EXPECT_DOUBLE_EQ(negatives.Accuracy(), 1.0);
  EXPECT_DOUBLE_EQ(negatives.MatthewsCorrelation(), 0.0);
  // Constant predictions: Matthews is 0, not NaN.
  EXPECT_DOUBLE_EQ(Matrix(2, {0, 1, 1, 0}, {1, 1, 1, 1}).MatthewsCorrelation(), 0.0);
  // Macro F1 over the labels that occur: label 2 never does.
  EXPECT_DOUBLE_EQ(Matrix(3, {0, 1}, {0, 1}).MacroF1(), 1.0);
  EXPECT_DOUBLE_EQ(ConfusionMatrix(3).Accuracy(), 0.0);
}

TEST(ConfusionMatrix, ShardsAddUpToTheWholeThroughDoubles) {
  ConfusionMatrix whole(3), first(3), second(3);
  for (int i = 0; i < 50; ++i) {
    const int label = (i * 7) % 3, prediction = (i * 5) % 3;
    whole.Add(label, prediction);
    (i < 23 ? first : second).Add(label, prediction);
  }
  std::vector<double> sum = first.ToDoubles();
  const std::vector<double> other = second.ToDoubles();
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += other[i];  // what the all-reduce does
  const ConfusionMatrix reduced = ConfusionMatrix::FromDoubles(3, sum.data());
  EXPECT_EQ(reduced.ToDoubles(), whole.ToDoubles());
  EXPECT_DOUBLE_EQ(reduced.MatthewsCorrelation(), whole.MatthewsCorrelation());
  first += second;
  EXPECT_EQ(first.ToDoubles(), whole.ToDoubles());
}

TEST(ConfusionMatrix, OutOfRangeIsAnError) {
  ConfusionMatrix matrix(2);
  EXPECT_EQ(testing::ErrorOf([&] { matrix.Add(2, 0); }), "confusion matrix: label 2, prediction 0 outside 0..1");
  EXPECT_THAT(testing::ErrorOf([&] { matrix += ConfusionMatrix(3); }), HasSubstr("cannot add 3 labels to 2"));
}

TEST(Correlation, PearsonSpearmanAndRanks) {
  EXPECT_THAT(AverageRanks({3.0, 1.0, 3.0, 2.0, 3.0}), ElementsAre(4.0, 1.0, 4.0, 2.0, 4.0));
  EXPECT_DOUBLE_EQ(PearsonCorrelation({1, 2, 3}, {2, 4, 6}), 1.0);
  EXPECT_DOUBLE_EQ(PearsonCorrelation({1, 2, 3}, {3, 2, 1}), -1.0);
  // x = 1 2 3 4, y = 1 3 2 4: r = 8 / sqrt(5 * 5) * ... = 0.8
  EXPECT_NEAR(PearsonCorrelation({1, 2, 3, 4}, {1, 3, 2, 4}), 0.8, 1e-15);
  // Monotone but not linear: Spearman 1, Pearson below.
  EXPECT_DOUBLE_EQ(SpearmanCorrelation({1, 2, 3, 4}, {1, 8, 27, 64}), 1.0);
  EXPECT_LT(PearsonCorrelation({1, 2, 3, 4}, {1, 8, 27, 64}), 1.0);
  EXPECT_DOUBLE_EQ(MeanSquaredError({1, 2}, {2, 4}), (1.0 + 4.0) / 2);
}

TEST(Correlation, ConstantOrTooShortIsNanAsScipy) {
  EXPECT_TRUE(std::isnan(PearsonCorrelation({1, 1, 1}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(SpearmanCorrelation({1, 2, 3}, {5, 5, 5})));
  EXPECT_TRUE(std::isnan(PearsonCorrelation({1}, {2})));
  EXPECT_THAT(testing::ErrorOf([] { PearsonCorrelation({1, 2}, {1}); }), HasSubstr("2 predictions for 1 labels"));
}

TEST(GlueTasks, NineTasksWithHuggingFacesLabelsAndMetrics) {
  std::vector<std::string> names;
  for (const GlueTask& task : GlueTasks()) names.push_back(task.name);
  EXPECT_THAT(names, ElementsAre("cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli"));
  EXPECT_THAT(FindGlueTask("mnli")->label_names, ElementsAre("entailment", "neutral", "contradiction"));
  EXPECT_THAT(FindGlueTask("wnli")->label_names, ElementsAre("not_entailment", "entailment"));  // not rte's order
  EXPECT_TRUE(FindGlueTask("stsb")->regression());
  EXPECT_EQ(FindGlueTask("stsb")->num_labels(), 1);
  EXPECT_EQ(FindGlueTask("mnli")->eval_splits.size(), 2u);
  EXPECT_EQ(FindGlueTask("qnli")->text_columns, (std::vector<std::string>{"question", "sentence"}));
  EXPECT_EQ(FindGlueTask("sst2")->text_columns.size(), 1u);
  EXPECT_EQ(FindGlueTask("ax"), nullptr);
  EXPECT_EQ(TaskMetricNames("cola"), "loss, matthews_correlation");
  EXPECT_EQ(TaskMetricNames("stsb"), "loss, pearson, spearmanr, combined_score");
  EXPECT_EQ(TaskMetricNames("mrpc"), "loss, accuracy, f1");
  EXPECT_FALSE(FindTaskMetric("stsb", "eval_loss")->greater_is_better);
  EXPECT_TRUE(FindTaskMetric("cola", "eval_matthews_correlation")->greater_is_better);
}

TEST(TaskMetricValues, ComputedByNameInTheTasksOrder) {
  const MetricValues mrpc =
      ClassificationMetricValues(FindGlueTask("mrpc")->metrics, Matrix(2, {1, 0, 1, 1}, {1, 0, 0, 1}));
  ASSERT_EQ(mrpc.size(), 2u);
  EXPECT_EQ(mrpc[0].first, "accuracy");
  EXPECT_DOUBLE_EQ(mrpc[0].second, 0.75);
  EXPECT_DOUBLE_EQ(mrpc[1].second, 0.8);
  const MetricValues stsb = RegressionMetricValues(FindGlueTask("stsb")->metrics, {1, 2, 3, 4}, {1, 3, 2, 4});
  ASSERT_EQ(stsb.size(), 3u);
  EXPECT_EQ(stsb[2].first, "combined_score");
  EXPECT_DOUBLE_EQ(stsb[2].second, (stsb[0].second + stsb[1].second) / 2);
  EXPECT_THAT(testing::ErrorOf([] { RegressionMetricValues({"accuracy"}, {1}, {1}); }),
              HasSubstr("accuracy is not a regression metric"));
}

}  // namespace
}  // namespace bertfleet
