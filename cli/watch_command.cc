// `bertfleet watch JOB` (and `submit --watch`): follows a job until it ends, riding out
// coordinator restarts. The coordinator replays a job's stored events (state changes and epoch
// metrics) to every new watch before its live ones, in the order it stored them, so after a
// reconnect the first N stored events are the ones already printed: they are skipped, and the
// watch resumes with the next. Progress events are live only; those sent while the coordinator
// was away are gone, and the next one redraws the bar.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "bertfleet/v1/job_states.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "cli/retry.h"

namespace bertfleet::cli {

namespace {

// A coordinator away longer than this is not coming back soon: the watch gives up.
constexpr std::chrono::minutes kGiveUpAfter{10};

bool IsStored(const v1::JobEvent& event) { return event.has_state() || event.has_epoch() || event.has_resize(); }

}  // namespace

int WatchCommand(CliContext& cli, const std::string& job_id) {
  const bool tty = !cli.json && isatty(STDOUT_FILENO);
  bool bar_shown = false;
  v1::Job last;
  bool ended = false;
  size_t stored_printed = 0;  // stored events printed so far, over every connection
  Backoff backoff;
  std::chrono::steady_clock::time_point outage_since{};
  grpc::Status status;
  while (true) {
    v1::WatchJobRequest request;
    request.set_job_id(job_id);
    auto context = NewContext(0);
    auto reader = cli.stub->WatchJob(context.get(), request);
    size_t stored_seen = 0;
    v1::JobEvent event;
    while (reader->Read(&event)) {
      if (outage_since != std::chrono::steady_clock::time_point{}) {
        outage_since = {};
        backoff.Reset();
      }
      if (IsStored(event) && ++stored_seen <= stored_printed) continue;  // printed before the reconnect
      if (IsStored(event)) ++stored_printed;
      if (cli.json) {
        std::cout << ToJson(event) << std::endl;
      } else if (tty && event.has_progress()) {
        std::cout << "\r" << ProgressBar(event.progress(), 30) << "\033[K" << std::flush;
        bar_shown = true;
      } else {
        if (bar_shown) std::cout << "\r\033[K";
        std::cout << EventLine(event) << std::endl;
        bar_shown = false;
      }
      if (event.has_job()) last = event.job();
      if (event.has_state() && v1::IsFinalJobState(event.state())) ended = true;
    }
    status = reader->Finish();
    if (ended || !IsTransient(status)) break;
    const auto now = std::chrono::steady_clock::now();
    if (outage_since == std::chrono::steady_clock::time_point{}) {
      outage_since = now;
      if (bar_shown) std::cout << "\r\033[K" << std::flush;
      bar_shown = false;
      std::cerr << "bertfleet: lost the coordinator (" << StatusLine(status) << "); reconnecting…" << std::endl;
    } else if (now - outage_since > kGiveUpAfter) {
      std::cerr << "bertfleet: the coordinator has been unreachable for "
                << std::chrono::duration_cast<std::chrono::minutes>(kGiveUpAfter).count() << " minutes; giving up"
                << std::endl;
      break;
    }
    std::this_thread::sleep_for(backoff.Next());
  }
  if (!ended) {
    if (!status.ok()) {
      std::cerr << "bertfleet: " << StatusLine(status) << "\n";
      return 1;
    }
    std::cerr << "bertfleet: the watch of " << job_id << " ended before the job did" << std::endl;
    return 1;
  }
  if (!cli.json && last.epochs_size() > 0) std::cout << "\n" << EpochTable(last);
  if (last.state() != v1::JOB_STATE_SUCCEEDED) {
    std::cerr << "bertfleet: job " << job_id << " " << StateName(last.state()) << ": " << last.message()
              << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace bertfleet::cli
