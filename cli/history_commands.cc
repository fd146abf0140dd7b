// `bertfleet metrics JOB [--csv]` and `bertfleet plot JOB -o curves.svg`: a job's per-epoch
// history (the coordinator's record of every finished epoch of the current attempt).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/eval_metrics.h"
#include "cli/epoch_plot.h"
#include "cli/format.h"
#include "cli/retry.h"
#include "cli/sweep_commands.h"
#include "common/util/error.h"

namespace bertfleet::cli {
namespace {

// Round-trip precision, so scripts see exactly the coordinator's (and Prometheus') numbers.
std::string Exact(double value) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  return buf;
}

grpc::Status FetchJob(CliContext& cli, const std::string& job_id, v1::Job* job) {
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  return WithRetries([&] {
    auto context = NewContext(30);
    return cli.stub->GetJob(context.get(), request, job);
  });
}

int Fail(const grpc::Status& status) {
  std::cerr << "bertfleet: " << StatusLine(status) << "\n";
  return 1;
}

}  // namespace

std::string EpochCsv(const v1::Job& job) {
  const std::vector<std::string> names = EvalMetricNames(job);
  std::string out = "epoch,global_step,train_loss,eval_loss";
  for (const std::string& name : names) out += ",eval_" + name;
  out += ",train_samples_per_second\n";
  for (const auto& m : job.epochs()) {
    out += std::to_string(m.epoch()) + "," + std::to_string(m.global_step()) + "," + Exact(m.train_loss()) + ",";
    out += m.evaluated() ? Exact(m.eval_loss()) : "";
    for (const std::string& name : names) {
      const std::optional<double> value = m.evaluated() ? EvalMetric(m, name) : std::nullopt;
      out += "," + (value ? Exact(*value) : "");
    }
    out += "," + Exact(m.train_samples_per_second()) + "\n";
  }
  return out;
}

int MetricsCommand(CliContext& cli, const std::string& job_id, bool csv) {
  v1::Job job;
  const grpc::Status status = FetchJob(cli, job_id, &job);
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    v1::Job epochs_only;
    *epochs_only.mutable_epochs() = job.epochs();
    std::cout << ToJson(epochs_only) << std::endl;
  } else if (csv) {
    std::cout << EpochCsv(job);
  } else if (job.epochs_size() == 0) {
    std::cout << job_id << ": no finished epoch yet (" << StateName(job.state()) << ")\n";
  } else {
    std::cout << EpochTable(job);
  }
  return 0;
}

int PlotCommand(CliContext& cli, const std::string& id, const std::string& output) {
  if (output.empty()) throw Error("plot needs -o FILE.svg (or --output FILE.svg)");
  if (output.size() < 4 || output.compare(output.size() - 4, 4, ".svg") != 0) {
    throw Error("-o " + output + ": plot writes SVG; name the file *.svg");
  }
  std::string svg, what;
  if (id.rfind("sweep-", 0) == 0) {
    v1::Sweep sweep;
    const grpc::Status status = FetchSweep(cli, id, &sweep);
    if (!status.ok()) return Fail(status);
    svg = SweepCurvesSvg(sweep);
    what = std::to_string(sweep.configs_size()) + " configuration(s), " + std::to_string(sweep.jobs_total()) + " jobs";
  } else {
    v1::Job job;
    const grpc::Status status = FetchJob(cli, id, &job);
    if (!status.ok()) return Fail(status);
    svg = EpochCurvesSvg(job);
    what = std::to_string(job.epochs_size()) + " epochs";
  }
  std::ofstream out(output, std::ios::binary);
  out << svg;
  out.close();
  if (!out) throw Error("-o " + output + ": cannot write the file");
  std::cout << "wrote " << output << " (" << what << ")\n";
  return 0;
}

}  // namespace bertfleet::cli
