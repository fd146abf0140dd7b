#include "cli/format.h"

#include <optional>

#include "cli/eval_metrics.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/util/grpc_status_name.h"

namespace bertfleet::cli {

std::string Fixed(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, value);
  return buf;
}

namespace {

std::string Time(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0) return "-";
  std::time_t t = ts.seconds();
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string WorkerState(bertfleet::v1::Worker::State state) {
  std::string name = bertfleet::v1::Worker::State_Name(state);
  return name.rfind("STATE_", 0) == 0 ? name.substr(6) : name;
}

}  // namespace

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string StateName(bertfleet::v1::JobState state) {
  std::string name = bertfleet::v1::JobState_Name(state);
  return name.rfind("JOB_STATE_", 0) == 0 ? name.substr(10) : name;
}

std::string StatusLine(const grpc::Status& status) {
  std::string name = GrpcStatusName(status.error_code());
  std::string message = status.error_message();
  std::replace(message.begin(), message.end(), '\n', ' ');
  return name + ": " + message;
}

namespace {
// Columns line up by characters, not bytes ("±" is two bytes of UTF-8).
size_t DisplayWidth(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}
}  // namespace

std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - DisplayWidth(row[i]) + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

namespace {
std::string WorkersText(const bertfleet::v1::Job& job) {
  // "2", or for an elastic job "1/2" (current/requested) while it runs shrunk and "1-2" queued.
  const std::string requested = std::to_string(job.world_size());
  const bool elastic = job.min_world_size() > 0 && job.min_world_size() < job.world_size();
  if (!elastic) return requested;
  if (job.current_world_size() > 0) return std::to_string(job.current_world_size()) + "/" + requested;
  return std::to_string(job.min_world_size()) + "-" + requested;
}
}  // namespace

std::string JobsTable(const std::vector<bertfleet::v1::Job>& jobs) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "STATE", "PRIORITY", "WORKERS", "DEVICE", "STEP", "CREATED", "MESSAGE"}};
  for (const auto& job : jobs) {
    std::string step = job.total_steps() > 0
                           ? std::to_string(job.global_step()) + "/" + std::to_string(job.total_steps())
                           : "-";
    rows.push_back({job.id(), StateName(job.state()), std::to_string(job.priority()), WorkersText(job),
                    job.device(), step, Time(job.created_at()),
                    job.message()});
  }
  return Table(rows);
}

std::string WorkersTable(const std::vector<bertfleet::v1::Worker>& workers) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "HOST", "DEVICE", "THREADS", "STATE", "JOB", "RANK", "LAST HEARTBEAT"}};
  for (const auto& w : workers) {
    bool busy = w.state() == bertfleet::v1::Worker::STATE_BUSY;
    rows.push_back({w.id(), w.host(), w.device(), std::to_string(w.threads()), WorkerState(w.state()),
                    busy ? w.job_id() : "-", busy ? std::to_string(w.rank()) : "-",
                    Time(w.last_heartbeat())});
  }
  return Table(rows);
}

std::string EpochTable(const bertfleet::v1::Job& job) {
  const std::vector<std::string> names = EvalMetricNames(job);
  std::vector<std::string> header = {"Epoch", "Step", "Training Loss", "Validation Loss"};
  for (const std::string& name : names) header.push_back(EvalMetricTitle(name));
  header.push_back("Samples/s");
  std::vector<std::vector<std::string>> rows = {header};
  for (const auto& m : job.epochs()) {
    std::vector<std::string> row = {std::to_string(m.epoch()), std::to_string(m.global_step()),
                                    Fixed(m.train_loss(), 6), m.evaluated() ? Fixed(m.eval_loss(), 6) : "-"};
    for (const std::string& name : names) {
      const std::optional<double> value = m.evaluated() ? EvalMetric(m, name) : std::nullopt;
      row.push_back(value ? Fixed(*value, 6) : "-");
    }
    row.push_back(Fixed(m.train_samples_per_second(), 1));
    rows.push_back(std::move(row));
  }
  return Table(rows);
}

// "  accuracy 0.867647  f1 0.906574": the epoch's metrics, by name.
std::string EvalMetricsText(const bertfleet::v1::EpochMetrics& m) {
  std::string text;
  for (const std::string& name : EvalMetricNames(m)) {
    if (const std::optional<double> value = EvalMetric(m, name)) text += "  " + name + " " + Fixed(*value, 6);
  }
  return text;
}

std::string AttemptsTable(const bertfleet::v1::Job& job) {
  std::vector<std::vector<std::string>> rows = {{"Attempt", "Workers", "Started", "Outcome", "Resumed from", "Cause"}};
  for (const auto& attempt : job.attempts()) {
    std::string workers;
    for (const auto& id : attempt.worker_ids()) workers += (workers.empty() ? "" : ",") + id;
    rows.push_back({std::to_string(attempt.attempt()), workers, Time(attempt.started_at()),
                    attempt.outcome().empty() ? "RUNNING" : attempt.outcome(),
                    attempt.resumed_from().empty() ? "-" : attempt.resumed_from(), attempt.message()});
  }
  return Table(rows);
}

namespace {
// "2 x cpu", or for an elastic job "1 of 2 x cpu (elastic, min 1)".
std::string WorkersDetail(const bertfleet::v1::Job& job) {
  const bool elastic = job.min_world_size() > 0 && job.min_world_size() < job.world_size();
  std::string text = std::to_string(job.world_size()) + " x " + job.device();
  if (!elastic) return text;
  if (job.current_world_size() > 0) text = std::to_string(job.current_world_size()) + " of " + text;
  return text + " (elastic, min " + std::to_string(job.min_world_size()) + ")";
}
}  // namespace

std::string JobDetails(const bertfleet::v1::Job& job) {
  std::string workers;
  for (const auto& id : job.worker_ids()) workers += (workers.empty() ? "" : ", ") + id;
  std::vector<std::vector<std::string>> rows = {
      {"id:", job.id()},
      {"state:", StateName(job.state())},
      {"message:", job.message()},
      {"owner:", job.owner()},
      {"priority:", std::to_string(job.priority())},
      {"workers:", WorkersDetail(job) + (workers.empty() ? "" : " (" + workers + ")")},
      {"attempt:", std::to_string(job.attempt()) + " (restarts " + std::to_string(job.restarts()) + " of " +
                       std::to_string(job.max_restarts()) + ")"},
      {"step:", std::to_string(job.global_step()) + "/" + std::to_string(job.total_steps())},
      {"created:", Time(job.created_at())},
      {"started:", Time(job.started_at())},
      {"finished:", Time(job.finished_at())},
      {"output:", job.output_dir()},
  };
  if (!job.latest_checkpoint().empty()) rows.push_back({"checkpoint:", job.latest_checkpoint()});
  std::string out = Table(rows);
  if (job.attempts_size() > 1 || (job.attempts_size() == 1 && job.attempts(0).outcome() == "FAILED")) {
    out += "\n" + AttemptsTable(job);
  }
  if (job.epochs_size() > 0) out += "\n" + EpochTable(job);
  if (job.has_final_metrics() && job.final_metrics().evaluated()) {
    const auto& m = job.final_metrics();
    out += "\nfinal: eval_loss " + Fixed(m.eval_loss(), 6) + EvalMetricsText(m) + "\n";
  }
  return out;
}

std::string EventLine(const bertfleet::v1::JobEvent& event) {
  std::string line = Time(event.time()) + "  " + event.job_id() + "  ";
  switch (event.event_case()) {
    case bertfleet::v1::JobEvent::kState:
      return line + StateName(event.state()) + (event.message().empty() ? "" : "  " + event.message());
    case bertfleet::v1::JobEvent::kProgress: {
      const auto& p = event.progress();
      return line + "step " + std::to_string(p.global_step()) + "/" + std::to_string(p.total_steps()) +
             "  epoch " + std::to_string(p.epoch()) + "  loss " + Fixed(p.loss(), 4);
    }
    case bertfleet::v1::JobEvent::kEpoch: {
      const auto& m = event.epoch();
      std::string out = line + "epoch " + std::to_string(m.epoch()) + "  train_loss " + Fixed(m.train_loss(), 6);
      if (m.evaluated()) {
        out += "  eval_loss " + Fixed(m.eval_loss(), 6) + EvalMetricsText(m);
      }
      return out;
    }
    case bertfleet::v1::JobEvent::kResize: {
      const auto& r = event.resize();
      return line + "resized " + std::to_string(r.from_world_size()) + " -> " + std::to_string(r.to_world_size()) +
             " of " + std::to_string(r.world_size()) + " worker(s) at step " + std::to_string(r.global_step()) +
             (r.reason().empty() ? "" : "  " + r.reason());
    }
    default:
      return line + event.message();
  }
}

std::string ProgressBar(const bertfleet::v1::StepProgress& p, int width) {
  double fraction = p.total_steps() > 0 ? static_cast<double>(p.global_step()) / p.total_steps() : 0.0;
  fraction = std::clamp(fraction, 0.0, 1.0);
  int filled = static_cast<int>(fraction * width);
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] " +
         std::to_string(p.global_step()) + "/" + std::to_string(p.total_steps()) + "  epoch " +
         std::to_string(p.epoch()) + "  loss " + Fixed(p.loss(), 4) + "  " +
         Fixed(p.samples_per_second(), 1) + " samples/s";
}

}  // namespace bertfleet::cli
