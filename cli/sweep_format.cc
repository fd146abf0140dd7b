#include "cli/sweep_format.h"

#include <cstdio>
#include <map>
#include <vector>

#include "bertfleet/v1/job_states.h"
#include "cli/format.h"
#include "bertfleet/v1/reported_metrics.h"
#include "bertfleet/v1/sweep_settings.h"

namespace bertfleet::cli {
namespace {

// Sweep tables show four decimals: MRPC's validation set has 408 pairs (steps of 0.0025).
std::string Fixed(double value) { return cli::Fixed(value, 4); }

// Metric names in order of first appearance over the configurations (per epoch, then final).
std::vector<std::string> MetricNames(const v1::Sweep& sweep) {
  std::vector<std::string> names;
  auto add = [&](const std::string& name) {
    for (const auto& known : names) {
      if (known == name) return;
    }
    names.push_back(name);
  };
  for (const auto& config : sweep.configs()) {
    for (const auto& epoch : config.epochs()) {
      for (const auto& metric : epoch.metrics()) add(metric.name());
    }
    for (const auto& metric : config.final()) add(metric.name());
  }
  return names;
}

const v1::MetricSummary* Find(const google::protobuf::RepeatedPtrField<v1::MetricSummary>& metrics,
                              const std::string& name) {
  for (const auto& metric : metrics) {
    if (metric.name() == name) return &metric;
  }
  return nullptr;
}

std::string Progress(const v1::Sweep& sweep) {
  std::map<v1::JobState, int> by_state;
  for (const auto& point : sweep.points()) by_state[point.job().state()] += 1;
  std::string text;
  for (const auto& [state, count] : by_state) {
    std::string name = StateName(state);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    text += (text.empty() ? "" : ", ") + std::to_string(count) + " " + name;
  }
  return text;
}

// The ranking metric of one job's epochs: "0.7500 0.8000" (a dash for an epoch not evaluated).
std::string MetricPerEpoch(const v1::Job& job, const std::string& metric) {
  std::string text;
  for (const auto& epoch : job.epochs()) {
    std::string cell = "-";
    for (const auto& [name, value] : v1::ReportedMetrics(epoch, true)) {
      if (name == metric) cell = Fixed(value);
    }
    text += (text.empty() ? "" : " ") + cell;
  }
  return text.empty() ? "-" : text;
}

}  // namespace

std::string ConfigName(const v1::SweepConfig& config) { return v1::SettingsText(config.settings()); }

std::string MeanStd(const v1::MetricSummary& metric, int32_t seeds) {
  std::string text = Fixed(metric.mean()) + " ± " + Fixed(metric.std());
  if (metric.count() < seeds) text += " (n=" + std::to_string(metric.count()) + ")";
  return text;
}

std::string SweepDetails(const v1::Sweep& sweep) {
  std::string out = "sweep " + sweep.id() + "  owner " + sweep.owner() + "  " + std::to_string(sweep.jobs_total()) +
                    " jobs (" + std::to_string(sweep.configs_size()) + " configuration(s) x " +
                    std::to_string(sweep.seeds_size()) + " seed(s)): " + Progress(sweep) + "\n";
  out += "ranked by " + sweep.metric() + " of the final models (" +
         (sweep.greater_is_better() ? "higher" : "lower") + " is better)\n\n";

  std::vector<std::vector<std::string>> points = {
      {"JOB", "CONFIG", "SEED", "STATE", "STEP", sweep.metric() + " PER EPOCH", "FINAL"}};
  for (const auto& point : sweep.points()) {
    const v1::Job& job = point.job();
    std::string final_value = "-";
    if (job.has_final_metrics()) {
      for (const auto& [name, value] : v1::ReportedMetrics(job.final_metrics(), false)) {
        if (name == sweep.metric()) final_value = Fixed(value);
      }
    }
    const std::string step = job.total_steps() > 0
                                 ? std::to_string(job.global_step()) + "/" + std::to_string(job.total_steps())
                                 : "-";
    points.push_back({point.job_id(), ConfigName(sweep.configs(point.config())), std::to_string(point.seed()),
                      StateName(job.state()), step, MetricPerEpoch(job, sweep.metric()), final_value});
  }
  out += Table(points);

  const std::vector<std::string> names = MetricNames(sweep);
  std::vector<std::vector<std::string>> rows = {{"CONFIG", "SEEDS", "EPOCH"}};
  for (const auto& name : names) rows[0].push_back(name);
  for (int c = 0; c < sweep.configs_size(); ++c) {
    const v1::SweepConfig& config = sweep.configs(c);
    const std::string seeds = std::to_string(config.succeeded()) + "/" + std::to_string(config.seeds());
    bool first = true;
    auto add_row = [&](const std::string& epoch, const google::protobuf::RepeatedPtrField<v1::MetricSummary>& metrics) {
      std::vector<std::string> row = {first ? ConfigName(config) + (c == sweep.best_config() ? " *" : "") : "",
                                      first ? seeds : "", epoch};
      for (const auto& name : names) {
        const v1::MetricSummary* metric = Find(metrics, name);
        row.push_back(metric ? MeanStd(*metric, config.seeds()) : "-");
      }
      rows.push_back(std::move(row));
      first = false;
    };
    for (const auto& epoch : config.epochs()) add_row(std::to_string(epoch.epoch()), epoch.metrics());
    if (!config.final().empty()) add_row("final", config.final());
    if (first) add_row("-", {});
  }
  out += "\nmean ± std over seeds (sample std; SEEDS: succeeded/jobs)\n" + Table(rows);
  if (sweep.best_config() >= 0) {
    const v1::SweepConfig& best = sweep.configs(sweep.best_config());
    const v1::MetricSummary* metric = Find(best.final(), sweep.metric());
    out += "\nbest: " + ConfigName(best) + " (*): " + sweep.metric() + " " +
           (metric ? MeanStd(*metric, best.seeds()) : "-") + " over " + std::to_string(metric ? metric->count() : 0) +
           " seed(s)\n";
  } else {
    out += "\nbest: none yet (no configuration has a succeeded seed)\n";
  }
  return out;
}

std::string SweepsTable(const std::vector<v1::Sweep>& sweeps) {
  std::vector<std::vector<std::string>> rows = {{"ID", "JOBS", "FINISHED", "CONFIGS", "SEEDS", "BEST", "CREATED"}};
  for (const auto& sweep : sweeps) {
    std::string best = "-";
    if (sweep.best_config() >= 0) {
      const v1::SweepConfig& config = sweep.configs(sweep.best_config());
      const v1::MetricSummary* metric = Find(config.final(), sweep.metric());
      best = ConfigName(config) + (metric ? ": " + sweep.metric() + " " + Fixed(metric->mean()) : "");
    }
    rows.push_back({sweep.id(), std::to_string(sweep.jobs_total()), std::to_string(sweep.jobs_finished()),
                    std::to_string(sweep.configs_size()), std::to_string(sweep.seeds_size()), best,
                    std::to_string(sweep.created_at().seconds())});
  }
  return Table(rows);
}

}  // namespace bertfleet::cli
