// `bertfleet-worker data`: loads one MRPC split from any source and reports size and balance,
// the quickest check that a download, a mirror or a hand-made directory is what training expects.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/cli/arg_parser.h"
#include "common/data/batching.h"
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

}  // namespace

int RunDataCommand(const CommandArgs& args) {
  ArgParser parser("bertfleet-worker data");
  parser.Value("source", "DIR with <split>.tsv or the raw MRPC files, or 'download'")
      .Value("split", "train, validation or test (default train)")
      .Value("cache",
             "download cache (default $BERTFLEET_CACHE, $XDG_CACHE_HOME/bertfleet or "
             "~/.cache/bertfleet)")
      .Value("epoch-order",
             "SEED:EPOCH: print the split's row order in that epoch as training shuffles it (one "
             "index per line), e.g. to replay a bertfleet run in another trainer")
      .Flag("json", "print one JSON object instead of key=value text")
      .About("Loads one MRPC split and prints its size and label balance (or, with --epoch-order, the order the "
             "trainer visits its rows).")
      .Example("bertfleet-worker data --source download --split validation");
  DescribeMrpcSourceEnv(parser);
  if (!parser.ParseCommand(args)) return 0;
  const std::string source = parser.Get("source");
  const std::string split = parser.GetOr("split", "train");
  // Empty means DefaultCacheDir(), resolved only when a download actually needs it.
  const std::filesystem::path cache = parser.GetOr("cache", "");

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
