// Captures record the SHA-256 of the upload as received (migration 7), so that the service
// answers a retry before decoding; the hash is a capture fact (immutable) and unique per patient.
#include <gtest/gtest.h>

#include "../support/run_cli.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/repository.h"
#include "skintrack/storage/sha256.h"
#include "skintrack/storage/store.h"
#include "sqlite_internal.h"

namespace skintrack::storage {
namespace {

NewCapture MakeNew(const std::string& site, const std::string& upload) {
  NewCapture c;
  c.patient_id = "P1";
  c.site = site;
  c.captured_at = 1'700'000'000'000;
  c.width = c.height = 40;
  c.upload_sha256 = upload.empty() ? "" : Sha256Hex(upload);
  return c;
}

TEST(UploadHash, FindsTheCaptureOfAnUploadAndDeduplicatesByIt) {
  auto store = Store::OpenInMemory();
  Repository& repo = store->repository();
  PatientInfo p;
  p.id = "P1";
  repo.CreatePatient(p, "test");
  p.id = "P2";
  repo.CreatePatient(p, "test");
  const IngestResult first = store->IngestCapture(MakeNew("scalp", "upload-a"), "blob-a", "test");
  ASSERT_TRUE(first.created);
  const auto found = repo.FindCaptureByUpload("P1", Sha256Hex("upload-a"));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, first.capture.id);
  EXPECT_FALSE(repo.FindCaptureByUpload("P1", Sha256Hex("upload-b")));
  EXPECT_FALSE(repo.FindCaptureByUpload("P2", Sha256Hex("upload-a")));  // per patient
  EXPECT_FALSE(repo.FindCaptureByUpload("NOBODY", Sha256Hex("upload-a")));
  EXPECT_THROW(repo.FindCaptureByUpload("P1", "not-a-hash"), Error);

  // The same upload again (even re-encoded differently, even for another site) is that capture;
  // the other blob is not left behind.
  const IngestResult again =
      store->IngestCapture(MakeNew("left-forearm", "upload-a"), "blob-b", "test");
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.capture.id, first.capture.id);
  EXPECT_EQ(again.capture.site, "scalp");
  EXPECT_TRUE(store->Check(true).ok());
  EXPECT_FALSE(repo.IsBlobReferenced(Sha256Hex("blob-b")));

  // Without an upload hash (callers that have none) the blob hash still deduplicates.
  EXPECT_TRUE(store->IngestCapture(MakeNew("left-forearm", ""), "blob-c", "test").created);
  EXPECT_FALSE(store->IngestCapture(MakeNew("left-forearm", ""), "blob-c", "test").created);
  NewCapture bad = MakeNew("left-forearm", "");
  bad.upload_sha256 = "ABC";
  EXPECT_THROW(store->IngestCapture(bad, "blob-d", "test"), Error);
}

TEST(UploadHash, IsAnImmutableCaptureFact) {
  skintrack::testing::TempDir dir("upload-hash");
  const std::string path = dir.str() + "/skintrack.db";
  {
    auto repo = OpenSqliteRepository(path);
    PatientInfo p;
    p.id = "P1";
    repo->CreatePatient(p, "test");
    repo->InsertCapture(MakeNew("scalp", "upload-a"), {Sha256Hex("a"), 1}, "test");
  }
  EXPECT_THROW(internal::ExecSqlite(path, "UPDATE captures SET upload_sha256 = NULL"), Error);
}

}  // namespace
}  // namespace skintrack::storage
