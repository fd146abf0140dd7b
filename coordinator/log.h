#pragma once
// One-line logs on stderr: "text" (time level message key=value...) or "json" (one object a line).
#include <string>
#include <utility>
#include <vector>

namespace bertfleet::coordinator {

void SetLogFormat(const std::string& format);  // "text" | "json"
void Log(const std::string& level, const std::string& message,
         const std::vector<std::pair<std::string, std::string>>& fields = {});

}  // namespace bertfleet::coordinator
