// Drives the Gloo communicator across real processes for tests/python/test_gloo_communicator.py.
//   gloo_collective_tool --rank R --world-size N [--address HOST:PORT] [--timeout-seconds T]
//                        [--rounds K] [--pause-at-round K] [--prefix P]
// Rank 0 serves the store on a free port and prints "port N" on stdout first. Each round
// all-reduces a tensor filled with (rank + 1) * (round + 1), broadcasts one from rank
// round % N, and passes a barrier; every result is printed as a JSON line. With
// --pause-at-round this rank prints "paused" before that round's all-reduce and sleeps, so a
// test can kill it (or let the others time out) while they wait inside the collective.
// Failures: the Error on stderr, exit 1. Builds without Gloo: exit 77.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common/cli/arg_parser.h"
#include "common/util/error.h"
#include "common/util/host_port.h"
#ifdef BERTFLEET_GLOO
#include "worker/engine/collective/gloo/gloo_communicator.h"
#endif

int main(int argc, char** argv) {
#ifndef BERTFLEET_GLOO
  std::fprintf(stderr, "gloo_collective_tool: this build has no Gloo communicator\n");
  return 77;
#else
  using namespace bertfleet;
  try {
    ArgParser parser("gloo_collective_tool");
    parser.Value("rank", "this rank")
        .Value("world-size", "ranks")
        .Value("address", "rank 0's store HOST:PORT (ranks > 0)")
        .Value("timeout-seconds", "collective timeout")
        .Value("rounds", "rounds of all-reduce + broadcast + barrier")
        .Value("pause-at-round", "stop before this round's all-reduce (prints 'paused')")
        .Value("prefix", "store key prefix");
    if (!parser.ParseCommand(std::vector<std::string>(argv + 1, argv + argc))) return 0;
    GlooOptions options;
    options.rank = static_cast<int>(parser.GetInt("rank", 0));
    options.world_size = static_cast<int>(parser.GetInt("world-size", 1));
    options.key_prefix = parser.GetOr("prefix", "test/1");
    options.timeout = std::chrono::seconds(parser.GetInt("timeout-seconds", 30));
    if (options.rank == 0) {
      options.store_host = "127.0.0.1";
      options.on_store_listening = [](int port) {
        std::printf("port %d\n", port);
        std::fflush(stdout);
      };
    } else {
      std::tie(options.store_host, options.store_port) = ParseHostPort(parser.Get("address"), "--address");
    }
    const long rounds = parser.GetInt("rounds", 3);
    const long pause_at = parser.GetInt("pause-at-round", -1);

    auto communicator = MakeGlooCommunicator(options);
    const int rank = communicator->rank();
    const int world = communicator->world_size();
    for (long round = 0; round < rounds; ++round) {
      if (round == pause_at) {
        std::printf("paused\n");
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::hours(1));
      }
      auto sum = torch::full({1000}, double((rank + 1) * (round + 1)), torch::kFloat32);
      communicator->AllReduceSum(sum);
      // A non-contiguous tensor goes through a copy and must still come back reduced.
      auto strided = torch::full({8, 2}, double(rank + 1), torch::kFloat64).t();
      communicator->AllReduceSum(strided);
      auto average = torch::full({3}, double(rank), torch::kFloat64);
      communicator->AllReduceAverage(average);
      const int root = static_cast<int>(round % world);
      auto broadcast = torch::full({5}, double(rank * 10 + 7), torch::kInt64);
      communicator->Broadcast(broadcast, root);
      communicator->Barrier();
      std::printf("{\"round\": %ld, \"sum_min\": %g, \"sum_max\": %g, \"strided\": %g, \"average\": %g, "
                  "\"broadcast\": %lld, \"root\": %d}\n",
                  round, sum.min().item<double>(), sum.max().item<double>(), strided.sum().item<double>(),
                  average[0].item<double>(), static_cast<long long>(broadcast[4].item<int64_t>()), root);
      std::fflush(stdout);
    }
    std::printf("done\n");
    std::fflush(stdout);
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "gloo_collective_tool: %s\n", error.what());
    return 1;
  }
#endif
}
