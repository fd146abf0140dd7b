#include "client/connection_settings.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "common/cli/arg_parser.h"
#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet::client {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// The first line of a token file, without surrounding whitespace.
std::string ReadToken(const std::string& path, const std::string& what) {
  std::string text;
  try {
    text = ReadFileToString(path);
  } catch (const std::exception& e) {
    throw Error(what + ": " + e.what());
  }
  text = text.substr(0, text.find('\n'));
  auto begin = text.find_first_not_of(" \t\r");
  auto end = text.find_last_not_of(" \t\r");
  if (begin == std::string::npos) throw Error(what + ": " + path + " is empty");
  return text.substr(begin, end - begin + 1);
}

bool ParseBool(const std::string& value, const std::string& what) {
  if (value == "1" || value == "true" || value == "yes") return true;
  if (value == "0" || value == "false" || value == "no" || value.empty()) return false;
  throw Error(what + ": expected 1/true or 0/false (got \"" + value + "\")");
}

// The config file's settings as strings ("" when absent or the file does not exist).
std::map<std::string, std::string> ReadConfigFile(const std::string& path) {
  std::map<std::string, std::string> values;
  if (path.empty() || !std::filesystem::exists(path)) return values;
  YAML::Node root;
  try {
    root = YAML::Load(ReadFileToString(path));
  } catch (const YAML::Exception& e) {
    throw Error(path + ": " + e.what());
  }
  if (!root || root.IsNull()) return values;
  if (!root.IsMap()) throw Error(path + ": expected a mapping of settings");
  const std::set<std::string> known = {"coordinator", "token",     "token_file", "ca_file",
                                       "cert_file",   "key_file",  "insecure"};
  for (const auto& item : root) {
    std::string key = item.first.as<std::string>();
    if (!known.count(key)) throw Error(path + ": unknown key '" + key + "'");
    if (!item.second.IsScalar()) throw Error(path + ": " + key + ": must be a single value");
    values[key] = item.second.as<std::string>();
  }
  if (!values["token"].empty()) {
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
      throw Error(path + " holds a token but other users can read it: chmod 600 " + path);
    }
  }
  return values;
}

}  // namespace

std::string ClientConfigPath() {
  if (std::string path = Env("BERTFLEET_CONFIG"); !path.empty()) return path;
  if (std::string xdg = Env("XDG_CONFIG_HOME"); !xdg.empty()) return xdg + "/bertfleet/config.yaml";
  if (std::string home = Env("HOME"); !home.empty()) return home + "/.config/bertfleet/config.yaml";
  return "";
}

void AddConnectionFlags(ArgParser& parser) {
  parser.Value("ca-file", "PEM CA that signed the coordinator's certificate (default $BERTFLEET_CA_FILE)")
      .Value("cert-file", "PEM client certificate for mutual TLS (default $BERTFLEET_CERT_FILE)")
      .Value("key-file", "PEM key of --cert-file (default $BERTFLEET_KEY_FILE)")
      .Value("token-file", "file holding the bearer token (default $BERTFLEET_TOKEN_FILE)")
      .Flag("insecure", "plaintext, no token: for a coordinator started with --insecure");
  parser.Env("BERTFLEET_COORDINATOR", "coordinator address when --coordinator is not given")
      .Env("BERTFLEET_TOKEN", "bearer token (or $BERTFLEET_TOKEN_FILE: a file holding it)")
      .Env("BERTFLEET_CA_FILE", "default of --ca-file")
      .Env("BERTFLEET_CERT_FILE", "default of --cert-file")
      .Env("BERTFLEET_KEY_FILE", "default of --key-file")
      .Env("BERTFLEET_INSECURE", "1: as --insecure")
      .Env("BERTFLEET_CONFIG", "client config file (default ~/.config/bertfleet/config.yaml): coordinator, token, token_file, "
                               "ca_file, cert_file, key_file, insecure");
}

ConnectionSettings LoadConnectionSettings(const ArgParser& parser, const std::string& default_coordinator) {
  const std::string config_path = ClientConfigPath();
  std::map<std::string, std::string> file = ReadConfigFile(config_path);
  // flag, then environment variable, then config file key
  auto pick = [&](const char* flag, const char* env, const char* key) -> std::string {
    if (parser.Has(flag)) return parser.Get(flag);
    if (std::string value = Env(env); !value.empty()) return value;
    return file[key];
  };
  ConnectionSettings settings;
  settings.coordinator = pick("coordinator", "BERTFLEET_COORDINATOR", "coordinator");
  if (settings.coordinator.empty()) settings.coordinator = default_coordinator;
  settings.ca_file = pick("ca-file", "BERTFLEET_CA_FILE", "ca_file");
  settings.cert_file = pick("cert-file", "BERTFLEET_CERT_FILE", "cert_file");
  settings.key_file = pick("key-file", "BERTFLEET_KEY_FILE", "key_file");
  if (parser.Has("insecure")) {
    settings.insecure = true;
  } else if (std::string env = Env("BERTFLEET_INSECURE"); !env.empty()) {
    settings.insecure = ParseBool(env, "BERTFLEET_INSECURE");
  } else {
    settings.insecure = ParseBool(file["insecure"], config_path + ": insecure");
  }
  if (parser.Has("token-file")) {
    settings.token = ReadToken(parser.Get("token-file"), "--token-file");
  } else if (std::string token = Env("BERTFLEET_TOKEN"); !token.empty()) {
    settings.token = token;
  } else if (std::string path = Env("BERTFLEET_TOKEN_FILE"); !path.empty()) {
    settings.token = ReadToken(path, "BERTFLEET_TOKEN_FILE");
  } else if (!file["token"].empty()) {
    settings.token = file["token"];
  } else if (!file["token_file"].empty()) {
    settings.token = ReadToken(file["token_file"], config_path + ": token_file");
  }
  if (settings.cert_file.empty() != settings.key_file.empty()) {
    throw Error("a client certificate needs both --cert-file and --key-file (or BERTFLEET_CERT_FILE and "
                "BERTFLEET_KEY_FILE)");
  }
  return settings;
}

}  // namespace bertfleet::client
