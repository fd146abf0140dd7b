// bertfleet-coordinator: serves JobService and WorkerService (plus grpc.health.v1 and server
// reflection) over one SQLite job database.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "common/util/error.h"
#include "coordinator/auth/auth_metrics.h"
#include "coordinator/auth/coordinator_security.h"
#include "coordinator/config.h"
#include "coordinator/fleet.h"
#include "coordinator/file_service.h"
#include "coordinator/sweep_service.h"
#include "coordinator/job_service.h"
#include "coordinator/upload_store.h"
#include "coordinator/fleet_collector.h"
#include "coordinator/log.h"
#include "coordinator/metrics.h"
#include "coordinator/metrics_exposer.h"
#include "coordinator/rpc_metrics.h"
#include "coordinator/sqlite_job_store.h"
#include "coordinator/worker_service.h"

namespace {

std::atomic<bool> stop_requested{false};

void OnSignal(int) { stop_requested = true; }

// "host:port" with the port replaced by the one the server actually bound.
std::string BoundAddress(const std::string& listen, int port) {
  auto colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  return host + ":" + std::to_string(port);
}

int Run(const std::vector<std::string>& args) {
  using namespace bertfleet::coordinator;
  const std::optional<CoordinatorConfig> loaded = LoadCoordinatorConfig(args);
  if (!loaded) return 0;  // --help
  const CoordinatorConfig& config = *loaded;
  SetLogFormat(config.log_format);
  std::filesystem::create_directories(config.checkpoint_root);
  if (auto parent = std::filesystem::path(config.db).parent_path(); !parent.empty()) {
    std::filesystem::create_directories(parent);
  }

  SqliteJobStore store(config.db);
  std::filesystem::path state_dir = !config.state_dir.empty() ? std::filesystem::path(config.state_dir)
                                    : std::filesystem::absolute(config.db).parent_path();
  CoordinatorSecurity security(config.security, config.db, state_dir, {config.listen, config.metrics_listen});
  WatchHub hub;
  Rendezvous rendezvous;
  FleetOptions options;
  options.data_root = config.data_root;
  options.checkpoint_root = config.checkpoint_root;
  options.tracking.set_mlflow_tracking_uri(config.mlflow_tracking_uri);
  options.tracking.set_mlflow_experiment_name(config.mlflow_experiment_name);
  options.heartbeat_interval_ms = config.heartbeat_interval_ms;
  options.lease_ms = config.lease_ms;
  options.cancel_timeout_ms = config.cancel_timeout_ms;
  CoordinatorMetrics metrics;
  CountAuthFailures(*metrics.registry(), security.authorizer());
  options.on_event = [&metrics](const bertfleet::v1::JobEvent& event) { metrics.OnJobEvent(event); };
  Fleet fleet(&store, &hub, &rendezvous, options);
  JobServiceImpl job_service(&fleet, &hub, std::filesystem::absolute(config.data_root).string(),
                             std::filesystem::absolute(config.checkpoint_root).string(), &security.authorizer(),
                             &security.streams());
  WorkerServiceImpl worker_service(&fleet, &rendezvous, &security.authorizer(), &security.streams());
  UploadStore uploads(config.upload_dir.empty() ? state_dir / "uploads" : std::filesystem::path(config.upload_dir),
                      config.max_upload_bytes);
  job_service.SetUploads(&uploads);
  FileServiceImpl file_service(&fleet, &uploads, &security.authorizer());
  SweepServiceImpl sweep_service(&fleet, std::filesystem::absolute(config.data_root).string(),
                                 std::filesystem::absolute(config.checkpoint_root).string(), &security.authorizer(),
                                 &uploads);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, security.credentials(), &port);
  builder.RegisterService(&job_service);
  builder.RegisterService(&worker_service);
  builder.RegisterService(&file_service);
  builder.RegisterService(&sweep_service);
  security.ConfigureServer(builder);
  builder.experimental().SetInterceptorCreators(RpcMetricsInterceptors(&metrics));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) throw bertfleet::Error("cannot listen on " + config.listen);
  // Health per service too ("" is the whole server), so that a probe can name the one it needs.
  for (const char* service : {"bertfleet.v1.JobService", "bertfleet.v1.WorkerService", "bertfleet.v1.FileService",
                              "bertfleet.v1.SweepService", "bertfleet.v1.AuthService"}) {
    server->GetHealthCheckService()->SetServingStatus(service, true);
  }
  std::string address = BoundAddress(config.listen, port);
  MetricsEndpoint metrics_endpoint;
  if (!config.metrics_listen.empty()) {
    metrics_endpoint = StartMetricsEndpoint(
        config.metrics_listen,
        {metrics.registry(), std::make_shared<FleetCollector>(&fleet, config.metrics_retention_ms)});
    Log("INFO", "metrics listening", {{"address", metrics_endpoint.address}});
  }
  std::printf("listening on %s\n", address.c_str());
  std::fflush(stdout);
  Log("INFO", "coordinator started", {{"address", address}, {"db", config.db},
                                      {"data_root", config.data_root},
                                      {"checkpoint_root", config.checkpoint_root},
                                      {"security", security.Describe()}});

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!stop_requested) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    fleet.Tick();
  }
  Log("INFO", "shutting down");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bertfleet-coordinator: %s\n", e.what());
    return 1;
  }
}
