#include "worker/engine/collective/gloo/rendezvous_store.h"

#include <thread>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "common/util/error.h"
#include "worker/engine/collective/gloo/peer_monitor.h"
#include "worker/engine/torch/torch_error_text.h"

namespace bertfleet {

namespace {

std::string SecondsText(std::chrono::milliseconds duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(duration).count()) + " s";
}

c10::intrusive_ptr<c10d::Store> OpenTcpStore(const std::string& host, int port, bool server,
                                             std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(port);
  options.isServer = server;
  options.waitWorkers = false;  // our own barrier names the missing ranks
  options.timeout = timeout;
  return c10::make_intrusive<c10d::TCPStore>(host, options);
}

}  // namespace

RendezvousStore::RendezvousStore(const GlooOptions& options) : options_(options) {
  if (options_.world_size < 1 || options_.rank < 0 || options_.rank >= options_.world_size) {
    throw Error("gloo: rank " + std::to_string(options_.rank) + " is not in a world of size " +
                std::to_string(options_.world_size));
  }
  if (options_.key_prefix.empty()) throw Error("gloo: the store key prefix is empty");
  const bool server = options_.rank == 0;
  host_ = options_.store_host;
  if (server && (host_.empty() || host_ == "0.0.0.0")) host_ = "127.0.0.1";
  if (!server && (host_.empty() || options_.store_port <= 0)) {
    throw Error("gloo: rank " + std::to_string(options_.rank) + " needs rank 0's store address (HOST:PORT)");
  }
  try {
    tcp_ = OpenTcpStore(host_, options_.store_port, server, options_.timeout);
  } catch (const std::exception& error) {
    if (server) {
      throw Error("gloo: rank 0 cannot serve the rendezvous store on port " + std::to_string(options_.store_port) +
                  ": " + TorchErrorText(error));
    }
    throw Error("gloo: rank 0 did not arrive: no rendezvous store at " + host_ + ":" +
                std::to_string(options_.store_port) + " within " + SecondsText(options_.timeout) + " (" +
                TorchErrorText(error) + ")");
  }
  port_ = static_cast<c10d::TCPStore&>(*tcp_).getPort();
  if (server && options_.on_store_listening) options_.on_store_listening(port_);
}

c10::intrusive_ptr<c10d::Store> RendezvousStore::Keys(const std::string& sub_prefix) const {
  const std::string prefix = sub_prefix.empty() ? options_.key_prefix : options_.key_prefix + "/" + sub_prefix;
  return c10::make_intrusive<c10d::PrefixStore>(prefix, tcp_);
}

c10::intrusive_ptr<c10d::Store> RendezvousStore::Connect(std::chrono::milliseconds timeout) const {
  return c10::make_intrusive<c10d::PrefixStore>(options_.key_prefix, OpenTcpStore(host_, port_, false, timeout));
}

void RendezvousStore::AwaitAllRanks() {
  // Polled rather than c10d's Store::wait, which can only say that some key is missing. Rank 0
  // decides when the time is up and posts the verdict, so every rank names the same missing
  // ranks (the others keep polling a little longer than rank 0 waits).
  const std::string failed_key = "rendezvous/failed";
  const std::string acks_key = "rendezvous/acks";
  const auto text = [](const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); };
  const auto bytes = [](const std::string& value) { return std::vector<uint8_t>(value.begin(), value.end()); };
  auto keys = Keys();
  const bool decides = options_.rank == 0;
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout + (decides ? std::chrono::seconds(0)
                                                                                        : std::chrono::seconds(5));
  try {
    keys->set(PeerMonitor::HeartbeatKey(options_.rank), bytes(PeerMonitor::HeartbeatValue(0, 0)));
    for (;;) {
      if (!decides && keys->check({failed_key})) {
        const std::string verdict = text(keys->get(failed_key));
        keys->add(acks_key, 1);
        throw Error(verdict);
      }
      std::vector<int> missing;
      for (int rank = 0; rank < options_.world_size; ++rank) {
        if (!keys->check({PeerMonitor::HeartbeatKey(rank)})) missing.push_back(rank);
      }
      if (missing.empty()) return;
      if (std::chrono::steady_clock::now() >= deadline) {
        std::string names;
        for (int rank : missing) names += (names.empty() ? "" : ", ") + std::to_string(rank);
        const std::string verdict = "gloo: rank" + std::string(missing.size() > 1 ? "s " : " ") + names + " of " +
                                    std::to_string(options_.world_size) + " did not arrive within " +
                                    SecondsText(options_.timeout) + " (store " + address() + ", job/attempt " +
                                    options_.key_prefix + ")";
        if (decides) {
          // Keep the store up until the ranks that did arrive have read the verdict (briefly).
          keys->set(failed_key, bytes(verdict));
          const int64_t present = options_.world_size - static_cast<int64_t>(missing.size()) - 1;
          const auto linger = std::chrono::steady_clock::now() + std::chrono::seconds(3);
          while (keys->add(acks_key, 0) < present && std::chrono::steady_clock::now() < linger) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
        }
        throw Error(verdict);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& error) {
    if (decides) throw Error("gloo: the rendezvous store at " + address() + " failed: " + TorchErrorText(error));
    throw Error("gloo: rank 0 is gone: its rendezvous store at " + address() + " is unreachable (" +
                TorchErrorText(error) + ")");
  }
}

}  // namespace bertfleet
