#pragma once
// One line per event on stderr, shared by the coordinator and the worker agent: "text"
// (`time LEVEL message key=value...`, grep-able) or "json" (one object a line, for log
// shippers). Thread-safe: whole lines, never interleaved.
#include <string>
#include <utility>
#include <vector>

namespace bertfleet {

using LogFields = std::vector<std::pair<std::string, std::string>>;

// "text" | "json"; throws Error naming `source` (the flag or config key) for anything else.
void SetLogFormat(const std::string& format, const std::string& source = "--log-format");
void Log(const std::string& level, const std::string& message, const LogFields& fields = {});

}  // namespace bertfleet
