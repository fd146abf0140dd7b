#pragma once
// Line and field splitting shared by the MRPC readers. Both the GLUE TSVs and the Microsoft
// source files are plain TAB-separated text with no quoting, so a full CSV parser would only add
// ways to disagree with Hugging Face (which reads them with csv.QUOTE_NONE).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bertfleet {

// Splits on "\n", "\r\n" and a lone "\r", like Python's universal-newline text mode that HF's
// builder opens the files with. A final terminator does not start an extra empty line.
std::vector<std::string_view> SplitLines(std::string_view content);

// Splits on every TAB; "a\t\tb" has three fields, "" has one (empty) field.
std::vector<std::string_view> SplitTabs(std::string_view line);

// Drops a leading UTF-8 byte order mark (the Microsoft files start with one).
std::string_view StripUtf8Bom(std::string_view content);

// 'text' for an error message: at most 40 characters ("..." after), malformed UTF-8 replaced
// (messages travel in protobuf strings and gRPC statuses, which need valid UTF-8).
std::string QuotedField(std::string_view text);

// Strict base-10 integer: optional '-', digits only, no spaces, no overflow.
std::optional<int64_t> ParseInt64(std::string_view text);

}  // namespace bertfleet
