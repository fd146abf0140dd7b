#include "worker/cli/data_parallel_group.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <tuple>

#include "common/util/error.h"
#include "common/util/file_io.h"
#include "common/util/host_port.h"

namespace bertfleet {

namespace {

// Ranks > 0 with --rendezvous-file: the address once rank 0 has written it.
std::string WaitForAddressFile(const std::filesystem::path& path, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!std::filesystem::exists(path)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error("--rendezvous-file: rank 0 did not arrive: " + path.string() + " was not written within " +
                  std::to_string(timeout.count()) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string address = ReadFileToString(path);
  while (!address.empty() && (address.back() == '\n' || address.back() == ' ')) address.pop_back();
  return address;
}

}  // namespace

void AddDataParallelFlags(ArgParser& parser) {
  parser.Value("world-size", "data-parallel processes (default 1)")
      .Value("rank", "this process's rank, 0 .. world-size - 1")
      .Value("rendezvous", "rank 0: HOST:PORT to listen on (0: any free port); the others: what rank 0 printed (Gloo HOST:PORT, or nccl:<id>@HOST:PORT)")
      .Value("rendezvous-file", "instead of --rendezvous: rank 0 writes its rendezvous there, the others wait for it")
      .Value("collective-timeout-seconds", "a rank missing this long fails the run, naming it (default 300)");
}

RendezvousOptions RendezvousFromFlags(const ArgParser& parser) {
  const long world_size = parser.GetInt("world-size", 1);
  const long rank = parser.GetInt("rank", 0);
  const long timeout_seconds = parser.GetInt("collective-timeout-seconds", 300);
  if (world_size < 1 || world_size > 1024) throw Error("--world-size: must be in 1..1024 (got " + std::to_string(world_size) + ")");
  if (rank < 0 || rank >= world_size) {
    throw Error("--rank: must be in 0.." + std::to_string(world_size - 1) + " (got " + std::to_string(rank) + ")");
  }
  if (timeout_seconds < 1) throw Error("--collective-timeout-seconds: must be at least 1");
  RendezvousOptions options;
  options.timeout = std::chrono::seconds(timeout_seconds);
  if (world_size == 1) return options;
  if (parser.Has("rendezvous") == parser.Has("rendezvous-file")) {
    throw Error("--world-size " + std::to_string(world_size) + " needs exactly one of --rendezvous or --rendezvous-file");
  }
  options.rank = static_cast<int>(rank);
  options.world_size = static_cast<int>(world_size);
  options.key_prefix = "train/1";
  const std::string file = parser.GetOr("rendezvous-file", "");
  if (rank == 0) {
    if (parser.Has("rendezvous")) {
      std::tie(options.listen_host, options.listen_port) = ParseHostPort(parser.Get("rendezvous"), "--rendezvous");
    }
    options.publish = [file](const std::string& rendezvous) {
      std::fprintf(stderr, "rendezvous %s\n", rendezvous.c_str());
      std::fflush(stderr);
      if (!file.empty()) WriteFileAtomically(file, rendezvous + "\n");
    };
  } else {
    options.address = file.empty() ? parser.Get("rendezvous") : WaitForAddressFile(file, std::chrono::seconds(timeout_seconds));
    options.address_source = file.empty() ? "--rendezvous" : "--rendezvous-file " + file;
  }
  return options;
}

}  // namespace bertfleet
