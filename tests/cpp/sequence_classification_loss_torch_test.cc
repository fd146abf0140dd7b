// Which loss a model's config.json asks for, and the two losses' sums.
#include "worker/engine/model/sequence_classification_loss.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cpp/error_of.h"

namespace bertfleet {
namespace {

using ::testing::HasSubstr;

BertConfig Config(int64_t num_labels, nlohmann::json problem_type = nullptr) {
  BertConfig config;
  config.num_labels = num_labels;
  if (!problem_type.is_null()) config.raw["problem_type"] = problem_type;
  return config;
}

TEST(ProblemType, FollowsHuggingFacesRule) {
  EXPECT_EQ(ProblemTypeOf(Config(1)), ProblemType::kRegression);
  EXPECT_EQ(ProblemTypeOf(Config(2)), ProblemType::kSingleLabelClassification);
  EXPECT_EQ(ProblemTypeOf(Config(3)), ProblemType::kSingleLabelClassification);
  // An explicit problem_type wins over num_labels.
  EXPECT_EQ(ProblemTypeOf(Config(1, "single_label_classification")), ProblemType::kSingleLabelClassification);
  EXPECT_EQ(ProblemTypeOf(Config(2, "regression")), ProblemType::kRegression);
  EXPECT_THAT(testing::ErrorOf([] { ProblemTypeOf(Config(3, "multi_label_classification")); }),
              HasSubstr("problem_type: multi_label_classification is not supported"));
  EXPECT_THAT(testing::ErrorOf([] { ProblemTypeOf(Config(3, "ranking")); }), HasSubstr("unknown value 'ranking'"));
  EXPECT_EQ(ProblemTypeName(ProblemType::kRegression), "regression");
}

TEST(SequenceClassificationLoss, SumsOfSquaredErrorAndCrossEntropy) {
  const torch::Tensor scores = torch::tensor({{1.0f}, {2.5f}, {-1.0f}});
  const torch::Tensor targets = torch::tensor({1.5f, 2.0f, 0.0f});
  EXPECT_FLOAT_EQ(SequenceClassificationLossSum(scores, targets, ProblemType::kRegression).item<float>(),
                  0.25f + 0.25f + 1.0f);
  const torch::Tensor logits = torch::tensor({{0.0f, 0.0f, 0.0f}, {2.0f, 0.0f, 0.0f}});
  const torch::Tensor labels = torch::tensor({1, 0}, torch::kLong);
  const double expected = std::log(3.0) + (std::log(std::exp(2.0) + 2.0) - 2.0);
  EXPECT_NEAR(SequenceClassificationLossSum(logits, labels, ProblemType::kSingleLabelClassification).item<double>(),
              expected, 1e-6);
  EXPECT_THAT(testing::ErrorOf([&] { SequenceClassificationLossSum(logits, targets.slice(0, 0, 2), ProblemType::kRegression); }),
              HasSubstr("regression needs one output per example (num_labels 1), got logits of shape 3"));
}

}  // namespace
}  // namespace bertfleet
