#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "pomona/error.h"
#include "pomona/table.h"
#include "temp_folder_for_tests.h"

namespace pomona {
namespace {

using ::testing::MatchesRegex;
using testing::TempFolder;

TEST(OutputLock, SecondRunOnTheSameOutputIsRefusedNamingTheFirst) {
  TempFolder folder;
  const std::string output = folder / "out";
  const auto lock = OutputLock::acquire(output);
  try {
    // flock() locks belong to an open file: a second acquire in this process conflicts too.
    OutputLock::acquire(output);
    FAIL() << "a second lock was granted";
  } catch (const JobError& error) {
    EXPECT_EQ(error.code(), ExitCode::kInputOutput);
    EXPECT_THAT(error.what(),
                MatchesRegex(output + " is being written by pid " + std::to_string(getpid()) +
                             " on .+ since [0-9T:Z-]+; wait or remove " + output +
                             "/_pomona_lock if that run is dead"));
  }
}

TEST(OutputLock, ReleasedOrDeadRunsLockIsTakenOver) {
  TempFolder folder;
  const std::string output = folder / "out";
  { const auto lock = OutputLock::acquire(output); }
  EXPECT_FALSE(std::filesystem::exists(output + "/_pomona_lock"));
  // A SIGKILLed run leaves its file, but the kernel dropped its flock.
  std::ofstream(output + "/_pomona_lock") << "999999 elsewhere 2026-01-01T00:00:00Z 1234\n";
  const auto lock = OutputLock::acquire(output);
  EXPECT_EQ(lock->run_id().size(), 16u);
}

TEST(OutputLock, SingleFileOutputIsLockedBesideIt) {
  TempFolder folder;
  EXPECT_EQ(output_lock_uri(folder / "f.parquet"), folder / ".f.parquet.lock");
  EXPECT_EQ(output_lock_uri(folder / "dir"), folder / "dir/_pomona_lock");
  const auto lock = OutputLock::acquire(folder / "f.parquet");
  EXPECT_TRUE(std::filesystem::exists(folder / ".f.parquet.lock"));
}

}  // namespace
}  // namespace pomona
