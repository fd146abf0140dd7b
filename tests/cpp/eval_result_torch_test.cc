// EvalResult's metrics by name, the one place metric_for_best_model reads them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cpp/error_of.h"
#include "worker/engine/train/evaluator.h"

namespace bertfleet {
namespace {

TEST(EvalResult, ValueByNameWithOrWithoutEvalPrefix) {
  EvalResult result;
  result.loss = 0.5;
  result.metrics = {{"matthews_correlation", 0.25}, {"accuracy", 0.75}};
  EXPECT_DOUBLE_EQ(result.Value("eval_loss"), 0.5);
  EXPECT_DOUBLE_EQ(result.Value("loss"), 0.5);
  EXPECT_DOUBLE_EQ(result.Value("eval_matthews_correlation"), 0.25);
  EXPECT_DOUBLE_EQ(result.Value("accuracy"), 0.75);
  EXPECT_EQ(testing::ErrorOf([&] { result.Value("eval_f1"); }),
            "the evaluation reports no eval_f1 (it reports loss, matthews_correlation, accuracy)");
}

}  // namespace
}  // namespace bertfleet
