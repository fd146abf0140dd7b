#pragma once
// A small flag parser shared by every bertfleet command: `--name value`, `--name=value`,
// boolean `--flag`, repeatable flags (`--set k=v --set k2=v2`) and positional arguments.
// Unknown flags are errors that name the flag and list the accepted ones.
#include <map>
#include <utility>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bertfleet {

class ArgParser {
 public:
  explicit ArgParser(std::string command) : command_(std::move(command)) {}

  ArgParser& Value(const std::string& name, const std::string& help);
  ArgParser& Repeated(const std::string& name, const std::string& help);
  ArgParser& Flag(const std::string& name, const std::string& help);
  // For the usage text: what follows the command name (default "[options]"), a paragraph on what
  // the command does, the environment variables it reads, and example command lines.
  ArgParser& Synopsis(const std::string& text);
  ArgParser& About(const std::string& text);
  ArgParser& Env(const std::string& name, const std::string& help);
  ArgParser& Example(const std::string& command_line);
  ArgParser& NoEnv();  // says so in the usage text: "environment: none read"

  // Throws Error on an unknown flag or a value flag without a value.
  void Parse(const std::vector<std::string>& args);

  // The whole front end of a subcommand: adds --help, parses, rejects positional arguments
  // unless `allow_positional`. Returns false after printing the usage for --help (the command
  // then exits 0).
  bool ParseCommand(const std::vector<std::string>& args, bool allow_positional = false);

  bool Has(const std::string& name) const;
  std::string Get(const std::string& name) const;  // throws naming the missing flag
  std::string GetOr(const std::string& name, const std::string& fallback) const;
  long GetInt(const std::string& name, long fallback) const;  // throws on a non-number
  std::vector<std::string> GetAll(const std::string& name) const;
  bool IsSet(const std::string& flag) const { return Has(flag); }
  const std::vector<std::string>& positional() const { return positional_; }
  std::string Usage() const;

 private:
  enum class Kind { kValue, kRepeated, kFlag };
  struct Spec {
    Kind kind;
    std::string help;
  };
  std::string command_;
  std::string synopsis_ = "[options]";
  std::string about_;
  std::vector<std::pair<std::string, std::string>> env_;
  std::vector<std::string> examples_;
  bool no_env_ = false;
  std::map<std::string, Spec> specs_;
  std::vector<std::string> order_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

}  // namespace bertfleet
