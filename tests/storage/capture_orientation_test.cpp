// Issue 15: a capture's EXIF orientation is a checked, immutable fact (migration
// 0009_capture_orientation), and an ingest can verify the photo while its blob is written: the
// row is committed only when the verification returns.
#include <gtest/gtest.h>

#include <atomic>

#include "../support/run_cli.h"
#include "skintrack/core/error.h"
#include "skintrack/storage/repository.h"
#include "skintrack/storage/store.h"
#include "sqlite_internal.h"

namespace skintrack::storage {
namespace {

NewCapture MakeNew(int orientation) {
  NewCapture c;
  c.patient_id = "P1";
  c.site = "scalp";
  c.captured_at = 1'700'000'000'000;
  c.width = 30;
  c.height = 40;
  c.orientation = orientation;
  return c;
}

class CaptureOrientationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PatientInfo p;
    p.id = "P1";
    store_->repository().CreatePatient(p, "test");
  }
  std::unique_ptr<Store> store_ = Store::OpenInMemory();
};

TEST_F(CaptureOrientationTest, IsStoredReadBackAndChecked) {
  const IngestResult r = store_->IngestCapture(MakeNew(6), "photo-6", "test");
  EXPECT_EQ(r.capture.orientation, 6);
  EXPECT_EQ(store_->repository().FindCapture(r.capture.id)->orientation, 6);
  EXPECT_EQ(store_->IngestCapture(MakeNew(1), "photo-1", "test").capture.orientation, 1);
  for (const int bad : {0, 9, -1}) {
    try {
      store_->IngestCapture(MakeNew(bad), "photo-bad", "test");
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("orientation"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(store_->Check(false).stored_blobs, 2);
}

TEST_F(CaptureOrientationTest, ARefusedVerificationStoresNothing) {
  std::atomic<bool> ran{false};
  const IngestResult ok =
      store_->IngestCapture(MakeNew(1), "sound photo", "test", [&] { ran = true; });
  EXPECT_TRUE(ran);
  EXPECT_TRUE(ok.created);
  try {
    store_->IngestCapture(MakeNew(1), "damaged photo", "test",
                          [] { throw Error(ErrorCode::kImageDecode, "damaged JPEG"); });
    ADD_FAILURE() << "a refused photo was stored";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kImageDecode);
  }
  const CheckReport check = store_->Check(true);
  EXPECT_TRUE(check.ok()) << check.unreferenced.size();
  EXPECT_EQ(check.stored_blobs, 1);  // the damaged photo's blob was removed
  EXPECT_EQ(store_->repository().CountQueue().queued, 1);
}

TEST(CaptureOrientationMigration, TheColumnRefusesValuesOutsideOneToEightAndUpdates) {
  skintrack::testing::TempDir dir("orientation");
  {
    auto store = Store::OpenDataDir(dir.str() + "/data");
    PatientInfo p;
    p.id = "P1";
    store->repository().CreatePatient(p, "test");
    store->IngestCapture(MakeNew(3), "photo", "test");
  }
  const std::string db = dir.str() + "/data/skintrack.db";
  EXPECT_THROW(internal::ExecSqlite(db, "UPDATE captures SET orientation = 1"), std::exception);
  EXPECT_THROW(internal::ExecSqlite(db,
                                    "INSERT INTO captures (patient_id, site_id, condition, "
                                    "captured_at, received_at, device, media_type, "
                                    "blob_sha256, byte_size, width, height, status, "
                                    "next_attempt_at, id, orientation) SELECT patient_id, "
                                    "site_id, condition, captured_at, received_at, device, "
                                    "media_type, blob_sha256, byte_size, width, height, "
                                    "status, next_attempt_at, 99, 0 FROM captures"),
               std::exception);
}

}  // namespace
}  // namespace skintrack::storage
