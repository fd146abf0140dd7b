// All-reduce bandwidth of the Gloo communicator against a raw c10d ProcessGroupGloo all-reduce
// of the same bytes (bench/data_parallel.py runs it; not a test).
//   gloo_allreduce_bench --rank R --world-size N [--address HOST:PORT] --floats F --iterations K [--raw]
// Rank 0 prints "port N" first; every rank prints one JSON line: seconds per all-reduce
// (median of K after one warm-up) and the algorithm bandwidth (bytes / seconds).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <tuple>
#include <vector>

#include "common/cli/arg_parser.h"
#include "common/util/host_port.h"
#ifdef BERTFLEET_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "worker/engine/collective/gloo/gloo_communicator.h"
#endif

int main(int argc, char** argv) {
#ifndef BERTFLEET_GLOO
  std::fprintf(stderr, "gloo_allreduce_bench: this build has no Gloo communicator\n");
  return 77;
#else
  using namespace bertfleet;
  using Clock = std::chrono::steady_clock;
  try {
    ArgParser parser("gloo_allreduce_bench");
    parser.Value("rank", "this rank").Value("world-size", "ranks").Value("address", "rank 0's HOST:PORT")
        .Value("floats", "float32 elements per all-reduce").Value("iterations", "timed all-reduces")
        .Flag("raw", "time c10d's ProcessGroupGloo directly instead of the communicator");
    if (!parser.ParseCommand(std::vector<std::string>(argv + 1, argv + argc))) return 0;
    const int rank = static_cast<int>(parser.GetInt("rank", 0));
    const int world = static_cast<int>(parser.GetInt("world-size", 2));
    const long iterations = parser.GetInt("iterations", 10);
    auto tensor = torch::ones({parser.GetInt("floats", 1 << 20)}, torch::kFloat32);
    std::string host = "127.0.0.1";
    int port = 0;
    if (rank > 0) std::tie(host, port) = ParseHostPort(parser.Get("address"), "--address");

    std::function<void()> all_reduce;
    std::unique_ptr<GlooCommunicator> communicator;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
    if (parser.Has("raw")) {
      c10d::TCPStoreOptions store_options;
      store_options.port = static_cast<std::uint16_t>(port);
      store_options.isServer = rank == 0;
      store_options.waitWorkers = false;
      auto store = c10::make_intrusive<c10d::TCPStore>(host, store_options);
      if (rank == 0) {
        std::printf("port %d\n", store->getPort());
        std::fflush(stdout);
      }
      auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(300));
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      options->threads = 2;
      group = c10::make_intrusive<c10d::ProcessGroupGloo>(
          c10::make_intrusive<c10d::PrefixStore>("raw", store), rank, world, options);
      all_reduce = [&] {
        std::vector<at::Tensor> tensors = {tensor};
        group->allreduce(tensors)->wait();
      };
    } else {
      GlooOptions options;
      options.rank = rank;
      options.world_size = world;
      options.store_host = host;
      options.store_port = port;
      options.key_prefix = "bench/1";
      options.on_store_listening = [](int bound) {
        std::printf("port %d\n", bound);
        std::fflush(stdout);
      };
      communicator = MakeGlooCommunicator(options);
      all_reduce = [&] { communicator->AllReduceSum(tensor); };
    }
    all_reduce();  // warm-up: connections, buffers
    std::vector<double> seconds;
    for (long i = 0; i < iterations; ++i) {
      const auto start = Clock::now();
      all_reduce();
      seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    const double median = seconds[seconds.size() / 2];
    std::printf("{\"rank\": %d, \"raw\": %s, \"bytes\": %lld, \"median_seconds\": %.6f, \"gb_per_second\": %.3f}\n",
                rank, parser.Has("raw") ? "true" : "false", static_cast<long long>(tensor.nbytes()), median,
                double(tensor.nbytes()) / median / 1e9);
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "gloo_allreduce_bench: %s\n", error.what());
    return 1;
  }
#endif
}
