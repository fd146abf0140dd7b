#include "cli/epoch_plot.h"

#include <algorithm>
#include <optional>
#include <cmath>
#include <cstdio>
#include <vector>

#include "cli/eval_metrics.h"
#include "cli/sweep_format.h"
#include "common/util/error.h"

namespace bertfleet::cli {
namespace {

constexpr double kPanelWidth = 300, kPanelHeight = 260, kTop = 40;
constexpr double kLeft = 55, kRight = 15, kBottom = 40;  // margins inside a panel, for the axes

struct Series {
  std::string name;
  std::string color;
  std::vector<std::pair<double, double>> points;  // (epoch, value)
  // Sweeps: (value - std, value + std) per point, drawn as a shaded band around the line.
  std::vector<std::pair<double, double>> band;
};

std::string Num(double value, int digits = 4) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*g", digits, value);
  return buf;
}

std::string Px(double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", value);
  return buf;
}

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

// One panel at x offset `x0`: frame, axis ticks, a polyline with a dot per epoch for each series.
std::string Panel(double x0, const std::string& title, const std::vector<Series>& series, int64_t max_epoch) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : series) {
    for (const auto& [epoch, value] : s.points) {
      lo = std::min(lo, value);
      hi = std::max(hi, value);
    }
    for (const auto& [below, above] : s.band) {
      lo = std::min(lo, below);
      hi = std::max(hi, above);
    }
  }
  std::string svg = "<g class=\"panel\" data-title=\"" + Escape(title) + "\">\n";
  svg += "<text x=\"" + Px(x0 + kPanelWidth / 2) + "\" y=\"" + Px(kTop - 12) +
         "\" text-anchor=\"middle\" font-weight=\"bold\">" + Escape(title) + "</text>\n";
  const double left = x0 + kLeft, right = x0 + kPanelWidth - kRight;
  const double top = kTop, bottom = kTop + kPanelHeight - kBottom;
  svg += "<rect x=\"" + Px(left) + "\" y=\"" + Px(top) + "\" width=\"" + Px(right - left) + "\" height=\"" +
         Px(bottom - top) + "\" fill=\"none\" stroke=\"#888\"/>\n";
  if (lo > hi) {  // nothing evaluated (e.g. eval_strategy: no)
    svg += "<text x=\"" + Px((left + right) / 2) + "\" y=\"" + Px((top + bottom) / 2) +
           "\" text-anchor=\"middle\" fill=\"#888\">not evaluated</text>\n</g>\n";
    return svg;
  }
  if (hi - lo < 1e-9) {  // a flat line still needs a visible range
    lo -= 0.5 * std::max(1e-3, std::fabs(lo));
    hi += 0.5 * std::max(1e-3, std::fabs(hi));
  }
  const double pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  auto x_of = [&](double epoch) {
    return max_epoch <= 1 ? (left + right) / 2 : left + (epoch - 1) / double(max_epoch - 1) * (right - left);
  };
  auto y_of = [&](double value) { return bottom - (value - lo) / (hi - lo) * (bottom - top); };
  for (int i = 0; i <= 4; ++i) {
    const double value = lo + (hi - lo) * i / 4.0;
    svg += "<text x=\"" + Px(left - 4) + "\" y=\"" + Px(y_of(value) + 4) + "\" text-anchor=\"end\" font-size=\"10\">" +
           Num(value, 3) + "</text>\n";
  }
  const int64_t step = std::max<int64_t>(1, max_epoch / 10);
  for (int64_t epoch = 1; epoch <= max_epoch; epoch += step) {
    svg += "<text x=\"" + Px(x_of(double(epoch))) + "\" y=\"" + Px(bottom + 14) +
           "\" text-anchor=\"middle\" font-size=\"10\">" + std::to_string(epoch) + "</text>\n";
  }
  svg += "<text x=\"" + Px((left + right) / 2) + "\" y=\"" + Px(bottom + 30) +
         "\" text-anchor=\"middle\" font-size=\"11\">epoch</text>\n";
  double legend_y = top + 14;
  for (const auto& s : series) {
    if (s.points.empty()) continue;
    if (s.band.size() == s.points.size()) {
      std::string outline;  // along the upper edge, back along the lower one
      for (size_t i = 0; i < s.points.size(); ++i) outline += Px(x_of(s.points[i].first)) + "," + Px(y_of(s.band[i].second)) + " ";
      for (size_t i = s.points.size(); i-- > 0;) outline += Px(x_of(s.points[i].first)) + "," + Px(y_of(s.band[i].first)) + " ";
      outline.pop_back();
      svg += "<polygon class=\"band\" data-series=\"" + Escape(s.name) + "\" fill=\"" + s.color +
             "\" fill-opacity=\"0.18\" stroke=\"none\" points=\"" + outline + "\"/>\n";
    }
    std::string points;
    for (const auto& [epoch, value] : s.points) points += Px(x_of(epoch)) + "," + Px(y_of(value)) + " ";
    points.pop_back();
    svg += "<polyline class=\"series\" data-series=\"" + Escape(s.name) + "\" fill=\"none\" stroke=\"" + s.color +
           "\" stroke-width=\"2\" points=\"" + points + "\"/>\n";
    for (const auto& [epoch, value] : s.points) {
      svg += "<circle cx=\"" + Px(x_of(epoch)) + "\" cy=\"" + Px(y_of(value)) + "\" r=\"3\" fill=\"" + s.color +
             "\"><title>" + Escape(s.name) + " epoch " + Num(epoch) + ": " + Num(value, 6) + "</title></circle>\n";
    }
    svg += "<text x=\"" + Px(right - 6) + "\" y=\"" + Px(legend_y) + "\" text-anchor=\"end\" font-size=\"11\" fill=\"" +
           s.color + "\">" + Escape(s.name) + "</text>\n";
    legend_y += 14;
  }
  return svg + "</g>\n";
}

const char* const kColors[] = {"#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2"};
constexpr size_t kColorCount = sizeof(kColors) / sizeof(kColors[0]);

std::string SvgDocument(double width, const std::string& title, const std::string& panels) {
  const double height = kTop + kPanelHeight;
  std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Px(width) + "\" height=\"" + Px(height) +
                    "\" viewBox=\"0 0 " + Px(width) + " " + Px(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"8\" y=\"16\" font-size=\"13\">" + Escape(title) + "</text>\n";
  return svg + panels + "</svg>\n";
}

}  // namespace

std::string EpochCurvesSvg(const v1::Job& job) {
  if (job.epochs_size() == 0) throw Error("job " + job.id() + " has no finished epoch yet: nothing to plot");
  Series train_loss{"train_loss", "#1f77b4", {}, {}}, eval_loss{"eval_loss", "#d62728", {}, {}};
  // One panel per metric the job's task reports (MRPC: accuracy, then F1).
  std::vector<Series> metrics;
  for (const std::string& name : EvalMetricNames(job)) {
    metrics.push_back({"eval_" + name, kColors[metrics.size() % kColorCount], {}, {}});
  }
  int64_t max_epoch = 1;
  for (const auto& m : job.epochs()) {
    const double epoch = double(m.epoch());
    max_epoch = std::max(max_epoch, m.epoch());
    train_loss.points.push_back({epoch, m.train_loss()});
    if (!m.evaluated()) continue;
    eval_loss.points.push_back({epoch, m.eval_loss()});
    for (Series& series : metrics) {
      if (const std::optional<double> value = EvalMetric(m, series.name.substr(5))) {
        series.points.push_back({epoch, *value});
      }
    }
  }
  std::string panels = Panel(0, "Loss", {train_loss, eval_loss}, max_epoch);
  for (size_t i = 0; i < metrics.size(); ++i) {
    panels += Panel(double(i + 1) * kPanelWidth, EvalMetricTitle(metrics[i].name.substr(5)), {metrics[i]}, max_epoch);
  }
  return SvgDocument(double(1 + metrics.size()) * kPanelWidth, job.id(), panels);
}

std::string SweepCurvesSvg(const v1::Sweep& sweep) {
  // One panel per metric, one line per configuration: the mean over seeds, shaded ± one std.
  std::vector<std::string> names;
  int64_t max_epoch = 1;
  for (const auto& config : sweep.configs()) {
    for (const auto& epoch : config.epochs()) {
      max_epoch = std::max(max_epoch, epoch.epoch());
      for (const auto& metric : epoch.metrics()) {
        if (std::find(names.begin(), names.end(), metric.name()) == names.end()) names.push_back(metric.name());
      }
    }
  }
  if (names.empty()) throw Error("sweep " + sweep.id() + " has no finished epoch yet: nothing to plot");
  std::string panels;
  for (size_t n = 0; n < names.size(); ++n) {
    std::vector<Series> lines;
    for (int c = 0; c < sweep.configs_size(); ++c) {
      const v1::SweepConfig& config = sweep.configs(c);
      Series line{config.settings().empty() ? "mean of " + std::to_string(config.seeds()) + " seeds" : ConfigName(config),
                  kColors[c % kColorCount], {}, {}};
      for (const auto& epoch : config.epochs()) {
        for (const auto& metric : epoch.metrics()) {
          if (metric.name() != names[n]) continue;
          line.points.push_back({double(epoch.epoch()), metric.mean()});
          line.band.push_back({metric.mean() - metric.std(), metric.mean() + metric.std()});
        }
      }
      lines.push_back(std::move(line));
    }
    panels += Panel(double(n) * kPanelWidth, names[n], lines, max_epoch);
  }
  return SvgDocument(double(names.size()) * kPanelWidth,
                     sweep.id() + ": mean ± std over " + std::to_string(sweep.seeds_size()) + " seeds", panels);
}

}  // namespace bertfleet::cli
