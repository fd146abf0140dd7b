#include "common/cli/arg_parser.h"

#include <iostream>
#include <sstream>

#include "common/util/error.h"

namespace bertfleet {

ArgParser& ArgParser::Value(const std::string& name, const std::string& help) {
  specs_[name] = {Kind::kValue, help};
  order_.push_back(name);
  return *this;
}

ArgParser& ArgParser::Repeated(const std::string& name, const std::string& help) {
  specs_[name] = {Kind::kRepeated, help};
  order_.push_back(name);
  return *this;
}

ArgParser& ArgParser::Flag(const std::string& name, const std::string& help) {
  specs_[name] = {Kind::kFlag, help};
  order_.push_back(name);
  return *this;
}

ArgParser& ArgParser::Synopsis(const std::string& text) {
  synopsis_ = text;
  return *this;
}

ArgParser& ArgParser::About(const std::string& text) {
  about_ = text;
  return *this;
}

ArgParser& ArgParser::Env(const std::string& name, const std::string& help) {
  env_.emplace_back(name, help);
  return *this;
}

ArgParser& ArgParser::Example(const std::string& command_line) {
  examples_.push_back(command_line);
  return *this;
}

ArgParser& ArgParser::NoEnv() {
  no_env_ = true;
  return *this;
}

void ArgParser::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const auto spec = specs_.find(name);
    if (spec == specs_.end()) {
      throw Error(command_ + ": unknown option --" + name + "\n" + Usage());
    }
    if (spec->second.kind == Kind::kFlag) {
      if (inline_value) throw Error(command_ + ": option --" + name + " takes no value");
      values_[name].push_back("true");
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) throw Error(command_ + ": option --" + name + " needs a value");
      inline_value = args[++i];
    }
    if (spec->second.kind == Kind::kValue) values_[name].clear();
    values_[name].push_back(*inline_value);
  }
}

bool ArgParser::ParseCommand(const std::vector<std::string>& args, bool allow_positional) {
  if (!specs_.count("help")) Flag("help", "show this help");
  Parse(args);
  if (Has("help")) {
    std::cout << Usage();
    return false;
  }
  if (!allow_positional && !positional_.empty()) {
    throw Error(command_ + ": unexpected argument '" + positional_.front() + "'\n" + Usage());
  }
  return true;
}

bool ArgParser::Has(const std::string& name) const { return values_.count(name) > 0; }

std::string ArgParser::Get(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw Error(command_ + ": missing required option --" + name);
  return it->second.back();
}

std::string ArgParser::GetOr(const std::string& name, const std::string& fallback) const {
  return Has(name) ? Get(name) : fallback;
}

long ArgParser::GetInt(const std::string& name, long fallback) const {
  if (!Has(name)) return fallback;
  const std::string text = Get(name);
  size_t used = 0;
  long value = 0;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty()) {
    throw Error(command_ + ": option --" + name + " expects an integer, got '" + text + "'");
  }
  return value;
}

std::vector<std::string> ArgParser::GetAll(const std::string& name) const {
  const auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string ArgParser::Usage() const {
  std::ostringstream out;
  out << "usage: " << command_ << " " << synopsis_ << "\n";
  if (!about_.empty()) out << "\n" << about_ << "\n";
  if (!order_.empty()) out << "\noptions:\n";
  for (const auto& name : order_) {
    const Spec& spec = specs_.at(name);
    out << "  --" << name << (spec.kind == Kind::kFlag ? "" : " VALUE") << "\n      " << spec.help
        << "\n";
  }
  if (!env_.empty()) out << "\nenvironment:\n";
  if (env_.empty() && no_env_) out << "\nenvironment: none read\n";
  for (const auto& [name, help] : env_) out << "  " << name << "\n      " << help << "\n";
  if (!examples_.empty()) out << "\nexample" << (examples_.size() > 1 ? "s" : "") << ":\n";
  for (const std::string& example : examples_) out << "  " << example << "\n";
  return out.str();
}

}  // namespace bertfleet
