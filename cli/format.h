#pragma once
// How the `bertfleet` CLI prints jobs, workers and events: aligned tables for people, JSON (proto
// field names) for scripts.
#include <string>
#include <vector>

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include "bertfleet/v1/jobs.pb.h"

namespace bertfleet::cli {

std::string ToJson(const google::protobuf::Message& message);
std::string StateName(bertfleet::v1::JobState state);  // "RUNNING"
std::string StatusLine(const grpc::Status& status);    // "NOT_FOUND: no job job-1"
std::string Fixed(double value, int digits);           // "%.*f"

// Columns padded to their widest cell; the first row is the header.
std::string Table(const std::vector<std::vector<std::string>>& rows);

std::string JobsTable(const std::vector<bertfleet::v1::Job>& jobs);
std::string WorkersTable(const std::vector<bertfleet::v1::Worker>& workers);
std::string EpochTable(const bertfleet::v1::Job& job);
// One row per attempt: gang, outcome, the checkpoint it resumed from, why it ended.
std::string AttemptsTable(const bertfleet::v1::Job& job);
std::string JobDetails(const bertfleet::v1::Job& job);  // `status` output
std::string EventLine(const bertfleet::v1::JobEvent& event);  // one plain line per event
std::string ProgressBar(const bertfleet::v1::StepProgress& progress, int width);

}  // namespace bertfleet::cli
