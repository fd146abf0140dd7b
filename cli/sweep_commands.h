#pragma once
// `bertfleet sweep JOB.yaml --seeds ... [--set-grid KEY=V1,V2 ...]`, `bertfleet sweep status ID`
// and `bertfleet sweeps`, over SweepService (proto/bertfleet/v1/sweeps.proto).
#include <string>
#include <vector>

#include "cli/commands.h"

namespace bertfleet::cli {

// `seeds`: "42,43,44"; each grid entry "learning_rate=2e-5,3e-5". Local own files are uploaded
// first, as `submit` does. With `watch`, goes on as `sweep status --watch`.
int SweepCommand(CliContext& cli, const std::string& spec_path, const std::string& seeds,
                 const std::vector<std::string>& grid, bool watch);
// With `watch`, prints the table again whenever it changes until every job ended; exit status 1
// when a job did not succeed.
int SweepStatusCommand(CliContext& cli, const std::string& sweep_id, bool watch);
int SweepsCommand(CliContext& cli);

grpc::Status FetchSweep(CliContext& cli, const std::string& sweep_id, bertfleet::v1::Sweep* sweep);

// Throws Error naming the flag: "--seeds: 4x is not an integer".
std::vector<int64_t> ParseSeeds(const std::string& text);
bertfleet::v1::SweepAxis ParseGridAxis(const std::string& text);

}  // namespace bertfleet::cli
