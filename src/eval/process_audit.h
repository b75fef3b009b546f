// What the orchestrator sees of a worker from outside it, through /proc, where code inside the
// worker cannot forge the answer (EVAL_PROTOCOL rule 22: rules enforced where the behaviour
// happens): how many threads its processes run, which files they have mapped executable, and
// whether they hold anonymous executable memory. The evaluator takes a snapshot of a fresh
// worker and compares later ones with it and with what the candidate's library needs.
// Plain functions; Linux only.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "util/status.h"

namespace kf::eval {

struct ProcessSnapshot {
  int threads = 0;                  // over the group's processes, bubblewrap excluded
  std::set<std::string> mapped;     // files mapped executable (absolute paths)
  std::set<std::string> anon_exec;  // anonymous or deleted executable mappings ("start-end name")
};

// The snapshot of every process in process group `pgid` except bubblewrap's own.
Result<ProcessSnapshot> SnapshotGroup(pid_t pgid);

// The DT_NEEDED names of an ELF shared object (empty when it has none or is not ELF).
std::set<std::string> NeededLibraries(const std::filesystem::path& elf);

// What `now` has that the rules do not allow, in words, or nothing: threads beyond `before`'s
// when threads are forbidden; executable files mapped since `before` that are neither `library`
// nor in the closure of its needed libraries; any anonymous executable memory.
std::optional<std::string> AuditAgainst(const ProcessSnapshot& before, const ProcessSnapshot& now,
                                        const std::filesystem::path& library, bool threads_allowed);

}  // namespace kf::eval
