// UploadStore (coordinator/upload_store.h): bytes visible only after size and sha256 match,
// stored once per content, owners recorded apart, the size limit, nothing left by a failed or
// abandoned upload.
#include "coordinator/upload_store.h"

#include <gtest/gtest.h>

#include "common/data/mrpc_download.h"
#include "common/data/sha256.h"
#include "tests/cpp/scratch_dir.h"

namespace bertfleet::coordinator {
namespace {

namespace fs = std::filesystem;

std::string HexOf(const std::string& bytes) {
  Sha256 digest;
  digest.Update(bytes);
  return digest.HexDigest();
}

v1::UploadHeader Header(const std::string& name, const std::string& bytes) {
  v1::UploadHeader header;
  header.set_name(name);
  header.set_size(static_cast<int64_t>(bytes.size()));
  header.set_sha256(HexOf(bytes));
  return header;
}

class UploadStoreTest : public testing::ScratchDirTest {
 protected:
  size_t Entries() const {
    size_t count = 0;
    for (const auto& entry : fs::directory_iterator(dir_ / "uploads")) count += entry.is_regular_file();
    return count;
  }
};

TEST_F(UploadStoreTest, CommittedBytesAreStoredOnceByContentAndOwnedByWhoSentThem) {
  UploadStore store(dir_ / "uploads", 1000);
  const std::string bytes = "text,label\nhello,yes\nbye,no\n";
  const std::string sha = HexOf(bytes);
  for (const std::string owner : {"alice", "bob"}) {
    std::unique_ptr<UploadStore::Upload> upload;
    ASSERT_TRUE(store.Begin(Header("train.csv", bytes), &upload).ok());
    ASSERT_TRUE(upload->Append(bytes.substr(0, 5)).ok());
    if (owner == "alice") EXPECT_FALSE(store.Has(sha));  // nothing visible before the first commit
    ASSERT_TRUE(upload->Append(bytes.substr(5)).ok());
    v1::UploadedFile uploaded;
    ASSERT_TRUE(upload->Commit(owner, &uploaded).ok());
    EXPECT_EQ(uploaded.reference(), "sha256:" + sha + "/train.csv");
    EXPECT_EQ(uploaded.reused(), owner == "bob");
  }
  EXPECT_EQ(Entries(), 1u);  // one copy for both
  EXPECT_EQ(Sha256OfFile(store.ContentPath(sha)), sha);
  EXPECT_TRUE(store.Owns("alice", sha) && store.Owns("bob", sha));
  EXPECT_FALSE(store.Owns("carol", sha));
  v1::UploadedFile found;
  EXPECT_EQ(store.Find("carol", sha, "train.csv", &found).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(store.Find("alice", sha, "train.csv", &found).ok());
  EXPECT_EQ(found.size(), static_cast<int64_t>(bytes.size()));
}

TEST_F(UploadStoreTest, ShortWrongOrOversizedUploadsLeaveNothing) {
  UploadStore store(dir_ / "uploads", 16);
  const std::string bytes = "0123456789";
  {
    std::unique_ptr<UploadStore::Upload> upload;
    ASSERT_TRUE(store.Begin(Header("a.csv", bytes), &upload).ok());
    ASSERT_TRUE(upload->Append("01234").ok());
    v1::UploadedFile uploaded;
    const grpc::Status short_stream = upload->Commit("alice", &uploaded);
    EXPECT_EQ(short_stream.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(short_stream.error_message(), "a.csv: the upload ended after 5 of 10 bytes");
  }
  {
    std::unique_ptr<UploadStore::Upload> upload;
    ASSERT_TRUE(store.Begin(Header("a.csv", bytes), &upload).ok());
    ASSERT_TRUE(upload->Append("012345678X").ok());
    v1::UploadedFile uploaded;
    EXPECT_NE(upload->Commit("alice", &uploaded).error_message().find("sha256"), std::string::npos);
    EXPECT_EQ(upload->Append("more").error_code(), grpc::StatusCode::INVALID_ARGUMENT);  // past the size
  }
  {
    std::unique_ptr<UploadStore::Upload> abandoned;  // the client went away
    ASSERT_TRUE(store.Begin(Header("a.csv", bytes), &abandoned).ok());
    ASSERT_TRUE(abandoned->Append("0123").ok());
  }
  std::unique_ptr<UploadStore::Upload> upload;
  const grpc::Status big = store.Begin(Header("big.csv", std::string(17, 'x')), &upload);
  EXPECT_EQ(big.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(big.error_message(), "big.csv has 17 bytes; this coordinator takes files of at most 16 bytes (its "
                                 "max_upload_bytes setting)");
  v1::UploadHeader bad = Header("../etc/passwd", bytes);
  EXPECT_EQ(store.Begin(bad, &upload).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  bad = Header("a.csv", bytes);
  bad.set_sha256("ABC");
  EXPECT_EQ(store.Begin(bad, &upload).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Entries(), 0u);  // no content, no temporary file
  EXPECT_FALSE(store.Has(HexOf(bytes)));
}

TEST_F(UploadStoreTest, ARestartDropsTemporaryFilesACrashLeft) {
  fs::create_directories(dir_ / "uploads");
  WriteFile("uploads/.incoming-123", "half of a file");
  UploadStore store(dir_ / "uploads", 100);
  EXPECT_EQ(Entries(), 0u);
}

}  // namespace
}  // namespace bertfleet::coordinator
