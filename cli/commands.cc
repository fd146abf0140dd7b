#include "cli/commands.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "bertfleet/v1/job_states.h"
#include "cli/file_commands.h"
#include "cli/format.h"
#include "cli/retry.h"
#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet::cli {
namespace {

using bertfleet::v1::Job;

int Fail(const grpc::Status& status) {
  std::cerr << "bertfleet: " << StatusLine(status) << "\n";
  return 1;
}

}  // namespace

std::unique_ptr<grpc::ClientContext> NewContext(int seconds) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (seconds > 0) context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  const char* user = std::getenv("USER");
  if (user && *user) context->AddMetadata("bertfleet-owner", user);
  return context;
}

int SubmitCommand(CliContext& cli, const std::string& spec_path, bool watch) {
  v1::SubmitJobRequest request;
  // Local own files (train_file: data/train.csv) are checked and uploaded first.
  try {
    request.set_spec_yaml(UploadLocalFiles(cli, ReadFileToString(spec_path)));
  } catch (const Error& error) {
    std::cerr << "bertfleet: " << error.what() << "\n";
    return 1;
  }
  // The same id on every retry: a submit whose reply was lost (the coordinator restarted after
  // storing the job) returns that job instead of queueing a second one.
  request.set_request_id(NewRequestId());
  v1::SubmitJobResponse response;
  grpc::Status status = WithRetries([&] {
    auto context = NewContext(30);
    return cli.stub->SubmitJob(context.get(), request, &response);
  });
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    std::cout << ToJson(response.job()) << std::endl;
  } else {
    std::cout << "submitted " << response.job().id() << " (" << StateName(response.job().state()) << ")"
              << std::endl;
  }
  return watch ? WatchCommand(cli, response.job().id()) : 0;
}

int JobsCommand(CliContext& cli) {
  std::vector<Job> jobs;
  v1::ListJobsRequest request;
  request.set_page_size(500);
  do {
    v1::ListJobsResponse response;
    grpc::Status status = WithRetries([&] {
      auto context = NewContext(30);
      return cli.stub->ListJobs(context.get(), request, &response);
    });
    if (!status.ok()) return Fail(status);
    jobs.insert(jobs.end(), response.jobs().begin(), response.jobs().end());
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  if (cli.json) {
    v1::ListJobsResponse all;
    for (const auto& job : jobs) *all.add_jobs() = job;
    std::cout << ToJson(all) << std::endl;
  } else {
    std::cout << JobsTable(jobs);
  }
  return 0;
}

int StatusCommand(CliContext& cli, const std::string& job_id) {
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  Job job;
  grpc::Status status = WithRetries([&] {
    auto context = NewContext(30);
    return cli.stub->GetJob(context.get(), request, &job);
  });
  if (!status.ok()) return Fail(status);
  std::cout << (cli.json ? ToJson(job) + "\n" : JobDetails(job));
  return 0;
}

int CancelCommand(CliContext& cli, const std::string& job_id) {
  v1::CancelJobRequest request;
  request.set_job_id(job_id);
  Job job;
  grpc::Status status = WithRetries([&] {  // cancelling a cancelled job answers the same
    auto context = NewContext(30);
    return cli.stub->CancelJob(context.get(), request, &job);
  });
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    std::cout << ToJson(job) << std::endl;
  } else {
    std::cout << job.id() << " " << StateName(job.state()) << ": " << job.message() << std::endl;
  }
  return 0;
}

int WorkersCommand(CliContext& cli) {
  v1::ListWorkersResponse response;
  grpc::Status status = WithRetries([&] {
    auto context = NewContext(30);
    return cli.stub->ListWorkers(context.get(), v1::ListWorkersRequest(), &response);
  });
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    std::cout << ToJson(response) << std::endl;
  } else {
    std::cout << WorkersTable({response.workers().begin(), response.workers().end()});
  }
  return 0;
}

}  // namespace bertfleet::cli
