#pragma once
// The metrics of one epoch report by the names the jobs give them (hand-written, next to the
// generated jobs.pb.h), so that the coordinator's sweep statistics and the CLI's tables agree:
// train_loss; when evaluated eval_loss and eval_<name> for each of the task's metrics
// (eval_accuracy, eval_f1, eval_pearson, ...).
#include <string>
#include <utility>
#include <vector>

#include "bertfleet/v1/jobs.pb.h"

namespace bertfleet::v1 {

inline std::vector<std::pair<std::string, double>> ReportedMetrics(const EpochMetrics& metrics, bool with_train_loss) {
  std::vector<std::pair<std::string, double>> out;
  if (with_train_loss) out.emplace_back("train_loss", metrics.train_loss());
  if (!metrics.evaluated()) return out;
  out.emplace_back("eval_loss", metrics.eval_loss());
  if (metrics.eval_metrics().empty()) {  // reported before workers sent every task's metrics
    out.emplace_back("eval_accuracy", metrics.eval_accuracy());
    out.emplace_back("eval_f1", metrics.eval_f1());
  }
  for (const MetricValue& metric : metrics.eval_metrics()) out.emplace_back("eval_" + metric.name(), metric.value());
  return out;
}

}  // namespace bertfleet::v1
