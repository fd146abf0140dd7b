#include "worker/engine/report/console_reporter.h"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>

namespace bertfleet {

namespace {
std::string Format(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* format, ...) {
  char buffer[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  return buffer;
}
}  // namespace

// One column per metric, at least 8 wide (accuracy 9 and f1 8, as the MRPC table always was).
int ColumnWidth(const std::string& metric) { return std::max<int>(8, static_cast<int>(metric.size()) + 1); }

std::string ConsoleReporter::EpochTableHeader(const std::vector<std::string>& metrics) {
  std::string header = Format("%5s %10s %10s", "epoch", "train_loss", "eval_loss");
  for (const std::string& metric : metrics) header += Format(" %*s", ColumnWidth(metric), metric.c_str());
  return header + Format(" %10s", "samples/s");
}

std::string ConsoleReporter::FormatEpochRow(const EpochSummary& summary, const std::vector<std::string>& metrics) {
  std::string row = Format("%5" PRId64 " %10.4f", summary.epoch, summary.train_loss);
  row += summary.evaluated ? Format(" %10.4f", summary.eval_loss) : Format(" %10s", "-");
  for (const std::string& metric : metrics) {
    const auto found = std::find_if(summary.eval_metrics.begin(), summary.eval_metrics.end(),
                                    [&](const auto& entry) { return entry.first == metric; });
    row += summary.evaluated && found != summary.eval_metrics.end()
               ? Format(" %*.4f", ColumnWidth(metric), found->second)
               : Format(" %*s", ColumnWidth(metric), "-");
  }
  return row + Format(" %10.2f", summary.train_samples_per_second);
}

void ConsoleReporter::OnTrainBegin(TrainerState& state) {
  if (options_.log) {
    options_.log(Format("training: %" PRId64 " steps, %" PRId64 " per epoch, %" PRId64 " epochs, from step %" PRId64,
                        state.total_steps, state.steps_per_epoch, state.num_epochs, state.global_step));
  }
}

void ConsoleReporter::ClearBar() {
  if (bar_visible_) {
    std::fprintf(stderr, "\r\033[K");
    bar_visible_ = false;
  }
}

void ConsoleReporter::OnStepEnd(TrainerState& state, const StepStats& stats) {
  window_loss_ += stats.loss;
  window_steps_ += 1;
  window_examples_ += stats.examples;
  window_real_tokens_ += stats.real_tokens;
  window_padded_tokens_ += stats.padded_tokens;
  window_seconds_ += stats.seconds;
  if (options_.log_every_steps > 0 && state.global_step % options_.log_every_steps == 0 && options_.log) {
    ClearBar();
    const double padding = window_padded_tokens_ > 0
                               ? 1.0 - double(window_real_tokens_) / double(window_padded_tokens_)
                               : 0.0;
    options_.log(Format("epoch %" PRId64 " step %" PRId64 "/%" PRId64 " loss %.4f lr %.3e grad-norm %.3f "
                        "%.1f samples/s %.0f tokens/s padding %.3f",
                        state.epoch_index + 1, state.global_step, state.total_steps, window_loss_ / window_steps_,
                        stats.learning_rate, stats.grad_norm, window_examples_ / window_seconds_,
                        window_real_tokens_ / window_seconds_, padding));
    window_loss_ = window_seconds_ = 0;
    window_steps_ = window_examples_ = window_real_tokens_ = window_padded_tokens_ = 0;
  }
  if (options_.progress_bar) {
    const int64_t in_epoch = state.global_step - state.epoch_index * state.steps_per_epoch;
    const double fraction = std::min(1.0, double(in_epoch) / double(std::max<int64_t>(1, state.steps_per_epoch)));
    const int width = 30;
    const int filled = static_cast<int>(fraction * width);
    std::fprintf(stderr, "\r\033[Kepoch %" PRId64 "/%" PRId64 " [%s%s] %" PRId64 "/%" PRId64 " loss %.4f",
                 state.epoch_index + 1, state.num_epochs, std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), in_epoch, state.steps_per_epoch, stats.loss);
    std::fflush(stderr);
    bar_visible_ = true;
  }
}

void ConsoleReporter::OnEpochEnd(TrainerState& state) {
  ClearBar();
  const EpochSummary& summary = state.epochs.back();
  if (options_.json) {
    std::fprintf(options_.rows, "%s\n", summary.ToJson().dump().c_str());
  } else {
    if (!header_printed_) {
      std::fprintf(options_.rows, "%s\n", EpochTableHeader(options_.metrics).c_str());
      header_printed_ = true;
    }
    std::fprintf(options_.rows, "%s\n", FormatEpochRow(summary, options_.metrics).c_str());
  }
  std::fflush(options_.rows);
}

}  // namespace bertfleet
