#pragma once
// The evaluation metrics a job reports, whatever its task: the names in EpochMetrics.eval_metrics
// (accuracy, f1, matthews_correlation, pearson, ...), in the task's order. Jobs recorded before
// workers sent them (and old workers) have MRPC's two typed fields, which stand in as accuracy
// and f1.
#include <optional>
#include <string>
#include <vector>

#include "bertfleet/v1/jobs.pb.h"

namespace bertfleet::cli {

std::vector<std::string> EvalMetricNames(const bertfleet::v1::EpochMetrics& metrics);
// Every name any of the job's epochs reports, in order of first appearance.
std::vector<std::string> EvalMetricNames(const bertfleet::v1::Job& job);
std::optional<double> EvalMetric(const bertfleet::v1::EpochMetrics& metrics, const std::string& name);
// A column or panel title: "Accuracy", "F1", "Matthews Correlation", "MSE".
std::string EvalMetricTitle(const std::string& name);

}  // namespace bertfleet::cli
