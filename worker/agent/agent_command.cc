// bertfleet-worker --coordinator ADDR --device cpu [--threads N] [--worker-id ID] [--data-root DIR]
//                  [--metrics-listen HOST:PORT] [--log-format text|json]
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "client/channel_credentials.h"
#include "common/cli/arg_parser.h"
#include "common/util/error.h"
#include "common/util/log.h"
#include "worker/agent/agent_commands.h"
#include "worker/agent/metrics_http_server.h"
#include "worker/agent/worker_agent.h"

namespace bertfleet {

namespace {

// The training children fetch a job's uploaded files from the coordinator (upload_fetch.h) as
// this agent reaches it: the settings go to them through the environment they inherit, never
// on a command line, where other users could read a token.
void ExportConnectionForChildren(const client::ConnectionSettings& settings) {
  const std::pair<const char*, const std::string*> values[] = {{"BERTFLEET_COORDINATOR", &settings.coordinator},
                                                               {"BERTFLEET_TOKEN", &settings.token},
                                                               {"BERTFLEET_CA_FILE", &settings.ca_file},
                                                               {"BERTFLEET_CERT_FILE", &settings.cert_file},
                                                               {"BERTFLEET_KEY_FILE", &settings.key_file}};
  for (const auto& [name, value] : values) {
    if (!value->empty()) ::setenv(name, value->c_str(), 1);
  }
  if (settings.insecure) ::setenv("BERTFLEET_INSECURE", "1", 1);
}

}  // namespace

namespace {

std::atomic<WorkerAgent*> g_agent{nullptr};

void OnStopSignal(int) {
  if (WorkerAgent* agent = g_agent.load()) agent->Stop();
}

std::string SelfExecutable() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) throw Error("cannot find this program's path (/proc/self/exe)");
  return std::string(path, static_cast<size_t>(n));
}

}  // namespace

int RunAgentCommand(const std::vector<std::string>& args) {
  ArgParser parser("bertfleet-worker");
  parser.Value("coordinator", "coordinator address, host:port")
      .Value("device", "cpu (or cuda in a CUDA build)")
      .Value("threads", "intra-op threads for training (default: every core)")
      .Value("worker-id", "stable worker name (default: assigned by the coordinator)")
      .Value("data-root", "directory that relative `data`/`model` paths resolve in (default: the coordinator's)")
      .Value("progress-steps", "report progress every N steps (default 10; at least every 2 s)")
      .Value("cancel-grace-ms", "SIGTERM to SIGKILL delay when cancelling (default 3000)")
      .Value("reconnect-max-ms", "cap of the reconnect backoff (default 5000)")
      .Value("advertise-host", "host the other ranks reach this worker's rank-0 store on (default: the hostname)")
      .Value("rendezvous-timeout-ms", "how long a rank waits for rank 0's rendezvous address (default 120000)")
      .Value("collective-timeout-seconds", "a rank missing this long fails a data-parallel run (default: run-assignment's)")
      .Value("metrics-listen", "serve Prometheus /metrics on host:port (port 0 picks a free one)")
      .Value("log-format", "text (default) or json: one object per log line")
      .Synopsis("--coordinator HOST:PORT --device cpu [options]")
      .About("Runs the worker agent: registers with the coordinator and trains its assignments, each in a "
             "`bertfleet-worker run-assignment` child process, which reads the variables `bertfleet-worker train "
             "--help` lists.")
      .Example("bertfleet-worker --coordinator localhost:50051 --device cpu --worker-id w1 --insecure");
  client::AddConnectionFlags(parser);  // TLS files, token, --insecure (docs/security.md)
  if (!parser.ParseCommand(args)) return 0;
  AgentOptions options;
  options.connection = client::LoadConnectionSettings(parser, "");
  options.coordinator = options.connection.coordinator;
  if (options.coordinator.empty()) {
    throw Error("--coordinator: required (or $BERTFLEET_COORDINATOR, or `coordinator` in " + client::ClientConfigPath() + ")");
  }
  client::MakeChannelCredentials(options.connection);  // unreadable TLS files: fail now, not at each reconnect
  ExportConnectionForChildren(options.connection);
  options.device = parser.GetOr("device", "cpu");
#ifdef BERTFLEET_CUDA
  if (options.device != "cpu" && options.device != "cuda") throw Error("--device: cpu or cuda (got " + options.device + ")");
#else
  if (options.device != "cpu") {
    throw Error("--device: this build supports cpu only (got " + options.device + "); build with BERTFLEET_CUDA for cuda");
  }
#endif
  options.threads = static_cast<int>(parser.GetInt("threads", 0));
  if (options.threads < 0) throw Error("--threads: must be >= 0");
  options.worker_id = parser.GetOr("worker-id", "");
  options.data_root = parser.GetOr("data-root", "");
  options.progress_steps = parser.GetInt("progress-steps", 10);
  options.cancel_grace = std::chrono::milliseconds(parser.GetInt("cancel-grace-ms", 3000));
  options.reconnect_max = std::chrono::milliseconds(parser.GetInt("reconnect-max-ms", 5000));
  options.advertise_host = parser.GetOr("advertise-host", "");
  options.rendezvous_timeout = std::chrono::milliseconds(parser.GetInt("rendezvous-timeout-ms", 120000));
  if (options.rendezvous_timeout.count() < 1) throw Error("--rendezvous-timeout-ms: must be >= 1");
  options.collective_timeout_seconds = parser.GetInt("collective-timeout-seconds", 0);
  if (options.collective_timeout_seconds < 0) throw Error("--collective-timeout-seconds: must be >= 1");
  if (options.reconnect_max < options.reconnect_initial) options.reconnect_max = options.reconnect_initial;
  options.executable = SelfExecutable();
  SetLogFormat(parser.GetOr("log-format", "text"));
  WorkerMetrics metrics(options.device, BERTFLEET_VERSION);
  options.metrics = &metrics;
  std::unique_ptr<MetricsHttpServer> metrics_server;
  if (parser.Has("metrics-listen")) {
    metrics_server = std::make_unique<MetricsHttpServer>(parser.Get("metrics-listen"), [&metrics] { return metrics.Render(); });
    Log("INFO", "metrics listening", {{"address", metrics_server->address()}});
  }

  // A child that dies while we write its stdin must not kill the agent.
  std::signal(SIGPIPE, SIG_IGN);
  // Children are fork+exec'd at once: gRPC's fork handlers (which would pause its threads
  // around every fork) are not needed. Read by gRPC when it initialises, i.e. later.
  ::setenv("GRPC_ENABLE_FORK_SUPPORT", "false", /*overwrite=*/0);
  WorkerAgent agent(options);
  g_agent = &agent;
  std::signal(SIGTERM, OnStopSignal);
  std::signal(SIGINT, OnStopSignal);
  const int status = agent.Run();
  g_agent = nullptr;
  return status;
}

}  // namespace bertfleet
