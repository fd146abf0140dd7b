// WorkerAgent: starting an assignment's training process, including the rendezvous of
// data-parallel attempts (world_size > 1):
//   rank 0    starts its process at once with --rendezvous-listen <advertise host>; the process
//             serves the group's store on a free port and reports {"event":"rendezvous",
//             "address":...}; the agent publishes that address through the coordinator.
//   rank > 0  asks the coordinator for rank 0's address first (GetRendezvous, bounded by
//             rendezvous_timeout) and then starts its process with --rendezvous-address.
// No fixed ports and no environment variables: the coordinator is the only meeting point.
#include <signal.h>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include "client/channel_credentials.h"
#include "worker/agent/worker_agent.h"

namespace bertfleet {

RendezvousClient& WorkerAgent::Rendezvous() {
  if (!rendezvous_client_) {
    // Its own channel: rendezvous calls must survive the Connect stream being replaced.
    rendezvous_client_ = std::make_unique<RendezvousClient>(
        grpc::CreateChannel(options_.coordinator, client::MakeChannelCredentials(options_.connection)));
  }
  return *rendezvous_client_;
}

void WorkerAgent::ReportFailure(const AssignmentKey& key, const std::string& message) {
  Log(key, "failed: " + message, "ERROR");
  Report(FinishedMessage(key, false, false, message, nullptr, ""));
}

void WorkerAgent::LaunchAssignment(const v1::Assignment& assignment) {
  const AssignmentKey key{assignment.job_id(), assignment.attempt(), assignment.rank()};
  RunningAssignment run;
  run.key = key;
  run.assignment = assignment;
  if (assignment.world_size() > 1 && assignment.rank() > 0) {
    // Held as running while it waits, so that a reconnect lists it and a cancel can end it.
    Log(key, "waiting up to " + std::to_string(options_.rendezvous_timeout.count()) +
                 " ms for rank 0's rendezvous address");
    run.rendezvous = Rendezvous().Get(
        key.job_id, key.attempt, key.rank, options_.rendezvous_timeout,
        [this, key](const grpc::Status& status, const std::string& payload) {
          Post({InboxItem::kRendezvousDone, 0, {}, key, {}, status.ok() ? payload : status.error_message(), {},
                static_cast<int>(status.error_code())});
        });
    running_.emplace(key, std::move(run));
    return;
  }
  std::vector<std::string> extra;
  if (assignment.world_size() > 1) extra = {"--rendezvous-listen", options_.advertise_host};
  if (StartTraining(run, extra)) running_.emplace(key, std::move(run));
}

bool WorkerAgent::StartTraining(RunningAssignment& run, const std::vector<std::string>& extra_args) {
  const AssignmentKey key = run.key;
  std::string input;
  google::protobuf::util::JsonPrintOptions json_options;
  json_options.preserve_proto_field_names = true;
  const auto printed = google::protobuf::util::MessageToJsonString(run.assignment, &input, json_options);
  if (!printed.ok()) {
    ReportFailure(key, "cannot encode the assignment: " + std::string(printed.message()));
    return false;
  }
  std::vector<std::string> argv = {options_.executable, "run-assignment", "--threads",
                                   std::to_string(options_.threads), "--progress-steps",
                                   std::to_string(options_.progress_steps)};
  if (!options_.data_root.empty()) {
    argv.push_back("--data-root");
    argv.push_back(options_.data_root);
  }
  if (run.assignment.world_size() > 1 && options_.collective_timeout_seconds > 0) {
    argv.push_back("--collective-timeout-seconds");
    argv.push_back(std::to_string(options_.collective_timeout_seconds));
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  // The child's stdout is decoded on its reader thread; the agent's thread gets whole events, or
  // the one error that ends the stream's trust.
  run.events = std::make_shared<AssignmentEventReader>();
  auto on_output = [this, key, events = run.events](std::string_view bytes) {
    if (events->broken()) return;
    std::vector<v1::AssignmentEvent> decoded;
    std::string error;
    try {
      events->Feed(bytes, decoded);
    } catch (const AssignmentEventStreamError& stream_error) {
      error = stream_error.what();
    }
    for (v1::AssignmentEvent& event : decoded) Post({InboxItem::kChildEvent, 0, {}, key, std::move(event)});
    if (!error.empty()) Post({InboxItem::kChildStreamError, 0, {}, key, {}, error});
  };
  auto on_exit = [this, key, events = run.events](const ChildExit& exit) {
    if (!events->broken()) {
      try {
        events->Finish();
      } catch (const AssignmentEventStreamError& error) {
        Post({InboxItem::kChildStreamError, 0, {}, key, {}, error.what()});
      }
    }
    Post({InboxItem::kChildExit, 0, {}, key, {}, {}, exit});
  };
  try {
    run.child = options_.launcher->Start(argv, input, std::move(on_output), std::move(on_exit));
  } catch (const std::exception& error) {
    ReportFailure(key, std::string("cannot start the training process: ") + error.what());
    return false;
  }
  Log(key, "training in process " + std::to_string(run.child->pid()));
  if (options_.metrics) options_.metrics->OnAssignmentStarted(key, run.assignment.world_size(), run.child->pid());
  return true;
}

void WorkerAgent::OnRendezvousDone(const AssignmentKey& key, int status_code, const std::string& text) {
  auto it = running_.find(key);
  if (it == running_.end()) return;
  RunningAssignment& run = it->second;
  run.rendezvous.reset();  // its thread has returned: joins at once
  const auto code = static_cast<grpc::StatusCode>(status_code);
  if (key.rank == 0) {  // the publish of our own address
    if (code == grpc::StatusCode::OK || run.cancel_requested) return;
    // The other ranks cannot find us: this attempt cannot form its group.
    Log(key, "cannot publish the rendezvous address: " + text, "ERROR");
    RequestCancel(run, "cannot publish the rendezvous address through the coordinator: " + text);
    return;
  }
  if (run.cancel_requested) {
    Report(FinishedMessage(key, false, true, run.cancel_reason, nullptr, ""));
    running_.erase(it);
    return;
  }
  if (code != grpc::StatusCode::OK) {
    const std::string message = "no rendezvous with rank 0 (" + std::to_string(status_code) + "): " + text;
    running_.erase(it);
    ReportFailure(key, message);
    return;
  }
  Log(key, "rank 0's rendezvous: " + text);
  if (!StartTraining(run, {"--rendezvous-address", text})) running_.erase(it);
}

void WorkerAgent::OnRendezvousEvent(const AssignmentKey& key, const v1::RendezvousPublished& event) {
  auto it = running_.find(key);
  if (it == running_.end() || it->second.cancel_requested) return;
  const std::string& address = event.address();
  if (key.rank != 0 || address.empty()) {
    Log(key, "ignoring a rendezvous event from rank " + std::to_string(key.rank) + ": \"" + address + "\"", "WARN");
    return;
  }
  Log(key, "publishing rendezvous address " + address);
  it->second.rendezvous = Rendezvous().Publish(
      key.job_id, key.attempt, address, options_.rendezvous_timeout,
      [this, key](const grpc::Status& status, const std::string&) {
        Post({InboxItem::kRendezvousDone, 0, {}, key, {}, status.error_message(), {},
              static_cast<int>(status.error_code())});
      });
}

}  // namespace bertfleet
