// The coordinator's security pieces on real files and a real SQLite database: settings and the
// --insecure rule, token storage (hashes only, revocation, persistence), the first admin token.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>
#include <sstream>
#include <string>

#include "error_of.h"
#include "common/util/error.h"
#include "common/util/file_io.h"
#include "coordinator/auth/admin_bootstrap.h"
#include "coordinator/auth/listen_address.h"
#include "coordinator/auth/security_config.h"
#include "coordinator/auth/token_secret.h"
#include "coordinator/auth/token_store.h"
#include "coordinator/config.h"

namespace bertfleet::coordinator {
namespace {

namespace fs = std::filesystem;

using testing::ErrorOf;

fs::path FreshDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("bertfleet-security-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(ListenAddressTest, OnlyLoopbackAddressesAreLoopback) {
  for (const char* address : {"127.0.0.1:50051", "127.1.2.3:0", "localhost:1", "[::1]:50051", "unix:/tmp/s"}) {
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
  for (const char* address : {"0.0.0.0:50051", ":50051", "[::]:50051", "10.0.0.1:50051", "example.org:1",
                              "128.0.0.1:5", "[::ffff:127.0.0.1]:1x", "localhost.evil.com:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

TEST(SecurityConfigTest, InsecureIsRefusedUnlessEveryListenAddressIsLoopback) {
  SecurityConfig config;
  config.insecure = true;
  EXPECT_EQ(ErrorOf([&] { ValidateSecurityConfig(config, {"127.0.0.1:0", "[::1]:9100"}); }), "");
  std::string error = ErrorOf([&] { ValidateSecurityConfig(config, {"127.0.0.1:0", "0.0.0.0:9100"}); });
  EXPECT_NE(error.find("--insecure"), std::string::npos) << error;
  EXPECT_NE(error.find("got 0.0.0.0:9100"), std::string::npos) << error;
  config.insecure = false;  // secure by default: TLS files are required
  EXPECT_NE(ErrorOf([&] { ValidateSecurityConfig(config, {"0.0.0.0:1"}); }).find("security.tls_cert_file"),
            std::string::npos);
  config.tls_cert_file = "c.pem";
  config.tls_key_file = "k.pem";
  EXPECT_EQ(ErrorOf([&] { ValidateSecurityConfig(config, {"0.0.0.0:1"}); }), "");
  config.require_worker_client_cert = true;
  EXPECT_NE(ErrorOf([&] { ValidateSecurityConfig(config, {"0.0.0.0:1"}); }).find("tls_client_ca_file"),
            std::string::npos);
}

TEST(SecurityConfigTest, ParsedFromTheCoordinatorConfigWithFlagsOnTop) {
  auto config = ParseCoordinatorConfig(
      "state_dir: /var/lib/bf\nsecurity:\n  tls_cert_file: /etc/bf/cert.pem\n  tls_key_file: /etc/bf/key.pem\n"
      "  require_worker_client_cert: true\n  tls_client_ca_file: /etc/bf/ca.pem\n  max_streams_per_client: 4\n",
      "c.yaml");
  EXPECT_EQ(config.state_dir, "/var/lib/bf");
  EXPECT_EQ(config.security.tls_cert_file, "/etc/bf/cert.pem");
  EXPECT_TRUE(config.security.require_worker_client_cert);
  EXPECT_EQ(config.security.max_streams_per_client, 4);
  EXPECT_FALSE(config.security.insecure);
  auto flags = *LoadCoordinatorConfig({"--insecure", "--tls-cert", "a.pem", "--state-dir", "/s"});
  EXPECT_TRUE(flags.security.insecure);
  EXPECT_EQ(flags.security.tls_cert_file, "a.pem");
  EXPECT_EQ(flags.state_dir, "/s");
  EXPECT_EQ(ErrorOf([] { ParseCoordinatorConfig("security:\n  tls_cert: x\n", "c.yaml"); }),
            "c.yaml: security: unknown key 'tls_cert'");
  EXPECT_EQ(ErrorOf([] { ParseCoordinatorConfig("security:\n  insecure: maybe\n", "c.yaml"); }),
            "c.yaml: security.insecure: wrong type");
  EXPECT_NE(ErrorOf([] { ParseCoordinatorConfig("security:\n  max_streams_per_client: 0\n", "c.yaml"); })
                .find("security.max_streams_per_client: must be in [1, 100000]"),
            std::string::npos);
}

TEST(TokenSecretTest, SecretsAreRandomAndHashesAreSha256) {
  std::string a = NewTokenSecret(), b = NewTokenSecret();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("bft_", 0), 0u);
  EXPECT_EQ(a.size(), 4u + 64u);
  // sha256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(HashTokenSecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// Every text and blob in the database, to look for a secret in plain text.
std::string DumpDatabase(const fs::path& db) {
  sqlite3* handle = nullptr;
  sqlite3_open(db.c_str(), &handle);
  std::string all;
  sqlite3_exec(
      handle, "SELECT name || ' ' || role || ' ' || token_sha256 FROM auth_tokens",
      [](void* out, int, char** values, char**) {
        *static_cast<std::string*>(out) += std::string(values[0] ? values[0] : "") + "\n";
        return 0;
      },
      &all, nullptr);
  sqlite3_close(handle);
  return all;
}

TEST(TokenStoreTest, StoresHashesAuthenticatesRevokesAndPersists) {
  fs::path dir = FreshDir("store");
  fs::path db = dir / "jobs.db";
  std::string alice, worker;
  {
    TokenStore tokens(db.string());
    alice = tokens.Create("alice", v1::ROLE_USER).secret;
    worker = tokens.Create("gpu-pool", v1::ROLE_WORKER).secret;
    auto principal = tokens.Authenticate(alice);
    ASSERT_TRUE(principal.has_value());
    EXPECT_EQ(principal->name, "alice");
    EXPECT_EQ(principal->role, v1::ROLE_USER);
    EXPECT_FALSE(tokens.Authenticate(alice + "x").has_value());
    EXPECT_FALSE(tokens.Authenticate("").has_value());
    EXPECT_NE(ErrorOf([&] { tokens.Create("alice", v1::ROLE_ADMIN); }).find("already used"), std::string::npos);
    EXPECT_NE(ErrorOf([&] { tokens.Create("a b", v1::ROLE_USER); }).find("token name"), std::string::npos);
    EXPECT_NE(ErrorOf([&] { tokens.Create("bob", v1::ROLE_UNSPECIFIED); }).find("role"), std::string::npos);
    ASSERT_TRUE(tokens.Revoke("gpu-pool").has_value());
    EXPECT_FALSE(tokens.Authenticate(worker).has_value());
    EXPECT_FALSE(tokens.Revoke("nobody").has_value());
  }
  std::string dump = DumpDatabase(db);
  EXPECT_NE(dump.find(HashTokenSecret(alice)), std::string::npos) << dump;
  EXPECT_EQ(dump.find(alice), std::string::npos) << "the secret itself must not be stored";
  TokenStore reopened(db.string());  // a restarted coordinator
  EXPECT_TRUE(reopened.Authenticate(alice).has_value());
  EXPECT_FALSE(reopened.Authenticate(worker).has_value());
  auto list = reopened.List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_TRUE(list[1].has_revoked_at() || list[0].has_revoked_at());
  fs::remove_all(dir);
}

TEST(AdminBootstrapTest, FirstStartWritesAPrivateTokenFileOnce) {
  fs::path dir = FreshDir("bootstrap");
  TokenStore tokens((dir / "jobs.db").string());
  std::ostringstream announce;
  ASSERT_TRUE(EnsureAdminToken(tokens, dir / "state", announce));
  fs::path file = dir / "state" / kAdminTokenFileName;
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::string secret = ReadFileToString(file);
  secret.erase(secret.find_last_not_of('\n') + 1);
  EXPECT_NE(announce.str().find(secret), std::string::npos) << "printed once";
  auto admin = tokens.Authenticate(secret);
  ASSERT_TRUE(admin.has_value());
  EXPECT_EQ(admin->role, v1::ROLE_ADMIN);
  std::ostringstream again;
  EXPECT_FALSE(EnsureAdminToken(tokens, dir / "state", again));  // a later start: nothing new
  EXPECT_EQ(again.str(), "");
  EXPECT_EQ(ReadFileToString(file), secret + "\n");
  // All admins revoked: the next start makes "admin-2" (names are never reused).
  tokens.Revoke("admin");
  ASSERT_TRUE(EnsureAdminToken(tokens, dir / "state", again));
  std::string second = ReadFileToString(file);
  second.erase(second.find_last_not_of('\n') + 1);
  EXPECT_EQ(tokens.Authenticate(second)->name, "admin-2");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bertfleet::coordinator
