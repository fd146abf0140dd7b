#include "cli/sweep_commands.h"

#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/file_commands.h"
#include "cli/format.h"
#include "cli/retry.h"
#include "cli/sweep_format.h"
#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet::cli {
namespace {

int Fail(const grpc::Status& status) {
  std::cerr << "bertfleet: " << StatusLine(status) << "\n";
  return 1;
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) parts.push_back(part);
  if (!text.empty() && text.back() == ',') parts.push_back("");
  return parts;
}

bool AllSucceeded(const v1::Sweep& sweep) {
  for (const auto& point : sweep.points()) {
    if (point.job().state() != v1::JOB_STATE_SUCCEEDED) return false;
  }
  return true;
}

}  // namespace

std::vector<int64_t> ParseSeeds(const std::string& text) {
  if (text.empty()) throw Error("sweep needs --seeds, e.g. --seeds 42,43,44");
  std::vector<int64_t> seeds;
  for (const std::string& part : SplitCommas(text)) {
    size_t used = 0;
    int64_t seed = -1;
    try {
      seed = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (part.empty() || used != part.size() || seed < 0) {
      throw Error("--seeds: " + (part.empty() ? std::string("an empty entry") : "'" + part + "'") +
                  " is not a seed (integers >= 0, separated by commas)");
    }
    seeds.push_back(seed);
  }
  return seeds;
}

v1::SweepAxis ParseGridAxis(const std::string& text) {
  const size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == text.size()) {
    throw Error("--set-grid: '" + text + "' is not KEY=VALUE1,VALUE2,... (e.g. learning_rate=2e-5,3e-5)");
  }
  v1::SweepAxis axis;
  axis.set_key(text.substr(0, equals));
  for (const std::string& value : SplitCommas(text.substr(equals + 1))) {
    if (value.empty()) throw Error("--set-grid " + axis.key() + ": an empty value in '" + text + "'");
    axis.add_values(value);
  }
  return axis;
}

grpc::Status FetchSweep(CliContext& cli, const std::string& sweep_id, v1::Sweep* sweep) {
  v1::GetSweepRequest request;
  request.set_sweep_id(sweep_id);
  return WithRetries([&] {
    auto context = NewContext(30);
    return cli.sweeps->GetSweep(context.get(), request, sweep);
  });
}

int SweepCommand(CliContext& cli, const std::string& spec_path, const std::string& seeds,
                 const std::vector<std::string>& grid, bool watch) {
  v1::CreateSweepRequest request;
  try {
    for (int64_t seed : ParseSeeds(seeds)) request.add_seeds(seed);
    for (const std::string& axis : grid) *request.add_grid() = ParseGridAxis(axis);
    request.set_spec_yaml(UploadLocalFiles(cli, ReadFileToString(spec_path)));
  } catch (const Error& error) {
    std::cerr << "bertfleet: " << error.what() << "\n";
    return 1;
  }
  // The same id on every retry: a create whose reply was lost returns the sweep it made.
  request.set_request_id(NewRequestId());
  v1::Sweep sweep;
  const grpc::Status status = WithRetries([&] {
    auto context = NewContext(60);
    return cli.sweeps->CreateSweep(context.get(), request, &sweep);
  });
  if (!status.ok()) return Fail(status);
  if (cli.json && !watch) {
    std::cout << ToJson(sweep) << std::endl;
    return 0;
  }
  if (!cli.json) {
    std::cout << "created " << sweep.id() << ": " << sweep.jobs_total() << " jobs (" << sweep.configs_size()
              << " configuration(s) x " << sweep.seeds_size() << " seed(s))\n";
    for (const auto& point : sweep.points()) {
      std::cout << "  " << point.job_id() << "  " << ConfigName(sweep.configs(point.config())) << "  seed "
                << point.seed() << "\n";
    }
    std::cout << std::flush;
  }
  return watch ? SweepStatusCommand(cli, sweep.id(), true) : 0;
}

int SweepStatusCommand(CliContext& cli, const std::string& sweep_id, bool watch) {
  std::string shown;
  while (true) {
    v1::Sweep sweep;
    const grpc::Status status = FetchSweep(cli, sweep_id, &sweep);
    if (!status.ok()) return Fail(status);
    const bool done = sweep.jobs_finished() == sweep.jobs_total();
    const std::string text = cli.json ? ToJson(sweep) : SweepDetails(sweep);
    // --watch: each change once (as JSON: only the final state, one document).
    if (!watch || (!cli.json && text != shown) || (cli.json && done)) {
      std::cout << (watch && !shown.empty() ? "\n" : "") << text << std::flush;
      if (cli.json) std::cout << std::endl;
      shown = text;
    }
    if (!watch) return 0;
    if (done) return AllSucceeded(sweep) ? 0 : 1;
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
}

int SweepsCommand(CliContext& cli) {
  std::vector<v1::Sweep> sweeps;
  v1::ListSweepsRequest request;
  request.set_page_size(500);
  do {
    v1::ListSweepsResponse response;
    const grpc::Status status = WithRetries([&] {
      auto context = NewContext(30);
      return cli.sweeps->ListSweeps(context.get(), request, &response);
    });
    if (!status.ok()) return Fail(status);
    sweeps.insert(sweeps.end(), response.sweeps().begin(), response.sweeps().end());
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  if (cli.json) {
    v1::ListSweepsResponse all;
    for (const auto& sweep : sweeps) *all.add_sweeps() = sweep;
    std::cout << ToJson(all) << std::endl;
  } else {
    std::cout << SweepsTable(sweeps);
  }
  return 0;
}

}  // namespace bertfleet::cli
