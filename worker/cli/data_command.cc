// `bertfleet-worker data`: loads one split of MRPC (from any source) or of another GLUE task (from
// the GLUE distribution's files) and reports size and balance, the quickest check that a
// download, a mirror or a hand-made directory is what training expects.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/cli/arg_parser.h"
#include "common/data/batching.h"
#include "common/data/glue_layout.h"
#include "common/data/mrpc_dataset.h"
#include "common/util/error.h"
#include "worker/cli/commands.h"

namespace bertfleet {

namespace {

void PrintEpochOrder(const std::string& value, int64_t rows) {
  const auto colon = value.find(':');
  uint64_t seed = 0;
  int64_t epoch = 0;
  try {
    if (colon == std::string::npos) throw std::invalid_argument(value);
    seed = std::stoull(value.substr(0, colon));
    epoch = std::stoll(value.substr(colon + 1));
  } catch (const std::exception&) {
    throw Error("--epoch-order wants SEED:EPOCH (e.g. 42:0), got '" + value + "'");
  }
  for (const int64_t index : EpochPermutation(rows, seed, epoch)) std::cout << index << "\n";
}

// Any GLUE task but MRPC: rows per label name (or the score range for stsb), and every row
// the reader skipped, on stderr.
int ReportGlueSplit(const GlueTask& task, const std::string& source, const std::string& split, bool json) {
  const GlueSplitRows read = ReadGlueSplit(task, source, split);
  for (const std::string& line : read.skipped) std::cerr << "warning: " << line << "\n";
  std::vector<int64_t> counts(task.label_names.size(), 0);
  int64_t unlabeled = 0, scored = 0;
  double low = 0, high = 0, sum = 0;
  for (const SentencePair& row : read.rows) {
    if (task.regression() && !std::isnan(row.score)) {
      low = scored ? std::min(low, row.score) : row.score;
      high = scored ? std::max(high, row.score) : row.score;
      sum += row.score;
      ++scored;
    } else if (row.label >= 0) {
      ++counts[row.label];
    } else {
      ++unlabeled;
    }
  }
  nlohmann::json out = {{"task", task.name}, {"split", split}, {"source", source}, {"rows", read.rows.size()}};
  nlohmann::json labels = nlohmann::json::object();
  for (size_t k = 0; k < counts.size(); ++k) labels[task.label_names[k]] = counts[k];
  if (!task.regression()) out["labels"] = labels;
  if (scored) out["score"] = {{"min", low}, {"max", high}, {"mean", sum / static_cast<double>(scored)}};
  out["unlabeled"] = unlabeled;
  out["skipped"] = read.skipped.size();
  if (json) {
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::cout << "task=" << task.name << " split=" << split << " rows=" << read.rows.size();
  for (size_t k = 0; k < counts.size(); ++k) std::cout << " " << task.label_names[k] << "=" << counts[k];
  if (scored) {
    char range[96];
    std::snprintf(range, sizeof(range), " score_min=%.4g score_max=%.4g score_mean=%.4f", low, high,
                  sum / static_cast<double>(scored));
    std::cout << range;
  }
  if (unlabeled > 0) std::cout << " unlabeled=" << unlabeled;
  if (!read.skipped.empty()) std::cout << " skipped=" << read.skipped.size();
  std::cout << "\n";
  return 0;
}

}  // namespace

int RunDataCommand(const CommandArgs& args) {
  ArgParser parser("bertfleet-worker data");
  parser.Value("task", "cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte or wnli (default mrpc); docs/tasks.md")
      .Value("source",
             "mrpc: DIR with <split>.tsv or the raw MRPC files, or 'download'; other tasks: the GLUE folder "
             "(glue_data or glue_data/<TASK>)")
      .Value("split", "train, validation or test (default train; mnli: validation_matched, ...)")
      .Value("cache",
             "download cache (default $BERTFLEET_CACHE, $XDG_CACHE_HOME/bertfleet or "
             "~/.cache/bertfleet)")
      .Value("epoch-order",
             "SEED:EPOCH: print the split's row order in that epoch as training shuffles it (one "
             "index per line), e.g. to replay a bertfleet run in another trainer")
      .Flag("json", "print one JSON object instead of key=value text")
      .About("Loads one split of a GLUE task and prints its size and label balance (or, with --epoch-order, the "
             "order the trainer visits its rows).")
      .Example("bertfleet-worker data --task rte --source glue_data --split validation");
  DescribeMrpcSourceEnv(parser);
  if (!parser.ParseCommand(args)) return 0;
  const std::string source = parser.Get("source");
  const std::string split = parser.GetOr("split", "train");
  // Empty means DefaultCacheDir(), resolved only when a download actually needs it.
  const std::filesystem::path cache = parser.GetOr("cache", "");
  const std::string task_name = parser.GetOr("task", "mrpc");
  const GlueTask* task = FindGlueTask(task_name);
  if (!task) throw Error("--task: unknown task '" + task_name + "' (cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli)");
  if (task->name != "mrpc" && !parser.IsSet("epoch-order")) {
    return ReportGlueSplit(*task, source, split, parser.IsSet("json"));
  }
  if (task->name != "mrpc") throw Error("--epoch-order: only for mrpc so far");

  const std::vector<SentencePair> rows = LoadMrpcSplit(source, split, cache);
  if (parser.IsSet("epoch-order")) {
    PrintEpochOrder(parser.Get("epoch-order"), static_cast<int64_t>(rows.size()));
    return 0;
  }
  int64_t counts[3] = {0, 0, 0};  // unlabeled, label 0, label 1
  for (const SentencePair& row : rows) ++counts[row.label + 1];
  const int64_t labeled = counts[1] + counts[2];
  const double positive_ratio = labeled ? static_cast<double>(counts[2]) / labeled : 0.0;

  if (parser.IsSet("json")) {
    nlohmann::json out = {{"split", split},
                          {"source", source},
                          {"rows", rows.size()},
                          {"label0", counts[1]},
                          {"label1", counts[2]},
                          {"unlabeled", counts[0]},
                          {"positive_ratio", positive_ratio}};
    std::cout << out.dump() << "\n";
    return 0;
  }
  char ratio[32];
  std::snprintf(ratio, sizeof(ratio), "%.4f", positive_ratio);
  std::cout << "split=" << split << " rows=" << rows.size() << " label0=" << counts[1]
            << " label1=" << counts[2];
  if (counts[0] > 0) std::cout << " unlabeled=" << counts[0];
  std::cout << " positive_ratio=" << ratio << "\n";
  return 0;
}

}  // namespace bertfleet
