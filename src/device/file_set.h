// An all-or-nothing change to several files of a device directory (a restore, docs/backup.md):
// after a power cut at any write, the directory holds the old set or the new one, never a mix.
//
//   1. every new file is written under DIR/.restore/ and fsynced
//   2. DIR/restore.journal is written atomically: the commit point. It lists each change, one
//      line each ("put <sha256> <staged> <path>" or "delete <path>", tab-separated; plain text
//      keeps the firmware that links load_device small)
//   3. each staged file is renamed over its path, each deleted path unlinked
//   4. the journal is removed, then DIR/.restore/
// recover_file_set() (run by load_device, i.e. at every power-on of the simulated device, and
// before a new change) rolls a committed change forward and discards an uncommitted one.
//
// The simulated device's fault injector may cut power before any of these writes (one operation
// each: a staged file, the journal, a rename, an unlink, the journal's removal); a cut staged file
// or journal may be torn (half written). Production devices pass no injector.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "device/sim.h"

namespace ironseal::boot {

struct FileChange {
  std::string path;  // relative to the device directory (checked by the caller)
  bool remove = false;
  Bytes content;     // for a put
  mode_t mode = 0644;
};

// Applies `changes` atomically (above). kIo "power_cut" when the injector cut power.
Result<void> apply_file_set(const std::filesystem::path& dir, const std::vector<FileChange>& changes,
                            FaultInjector* faults = nullptr);

// Finishes or discards an interrupted apply_file_set. Returns true when it rolled one forward.
// kNotTrusted "restore_journal_inconsistent" when a committed change cannot be completed (a
// staged file missing and its path not holding the content the journal names).
Result<bool> recover_file_set(const std::filesystem::path& dir);

}  // namespace ironseal::boot
