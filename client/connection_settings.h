#pragma once
// How a client (the `bertfleet` CLI, a worker agent) reaches the coordinator. Each setting comes
// from the first of: a command-line flag, an environment variable, the client config file, a
// default. The config file is $BERTFLEET_CONFIG, else $XDG_CONFIG_HOME/bertfleet/config.yaml,
// else ~/.config/bertfleet/config.yaml (optional; docs/security.md shows one). Tokens are never
// taken from a flag (other users could read them in `ps`), only from a file or the environment.
#include <string>

namespace bertfleet {

class ArgParser;

namespace client {

struct ConnectionSettings {
  std::string coordinator;  // host:port
  std::string token;        // bearer token; empty: none sent
  std::string ca_file;      // PEM CA that signed the coordinator's certificate; empty: system CAs
  std::string cert_file;    // client certificate + key, for mutual TLS (workers)
  std::string key_file;
  bool insecure = false;    // plaintext and no token: for a coordinator run with --insecure
};

// Declares --ca-file, --cert-file, --key-file, --token-file and --insecure (each command declares
// its own --coordinator).
void AddConnectionFlags(ArgParser& parser);

// Flags: --coordinator --ca-file --cert-file --key-file --token-file --insecure.
// Environment: BERTFLEET_COORDINATOR, BERTFLEET_TOKEN, BERTFLEET_TOKEN_FILE, BERTFLEET_CA_FILE,
// BERTFLEET_CERT_FILE, BERTFLEET_KEY_FILE, BERTFLEET_INSECURE=1.
// Config file keys: coordinator, token, token_file, ca_file, cert_file, key_file, insecure.
// Throws Error naming the flag, variable or file (and key) that is wrong, and refuses a config
// file that holds a token but is readable by other users.
ConnectionSettings LoadConnectionSettings(const ArgParser& parser, const std::string& default_coordinator);

// The config file path that LoadConnectionSettings reads (it need not exist).
std::string ClientConfigPath();

}  // namespace client
}  // namespace bertfleet
