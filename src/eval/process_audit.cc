#include "eval/process_audit.h"

#include <dirent.h>
#include <elf.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "util/files.h"

namespace kf::eval {
namespace fs = std::filesystem;

namespace {

// Fields of /proc/PID/stat after the command name (which may hold spaces and parentheses).
std::vector<std::string> StatFields(pid_t pid, std::string* comm) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return {};
  if (comm) *comm = stat.substr(open + 1, close - open - 1);
  std::istringstream in(stat.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  return fields;  // [0] state, [1] ppid, [2] pgrp, ... [17] num_threads
}

void AddMaps(pid_t pid, ProcessSnapshot* s) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  for (std::string line; std::getline(maps, line);) {
    // address perms offset dev inode [path]
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode, path;
    in >> range >> perms >> offset >> dev >> inode;
    std::getline(in >> std::ws, path);
    if (perms.size() < 3 || perms[2] != 'x') continue;
    if (path == "[vdso]" || path == "[vsyscall]" || path == "[uprobes]") continue;
    if (path.empty() || path[0] != '/' || path.find(" (deleted)") != std::string::npos) {
      s->anon_exec.insert(range + " " + (path.empty() ? "anonymous" : path));
    } else {
      s->mapped.insert(path);
    }
  }
}

}  // namespace

Result<ProcessSnapshot> SnapshotGroup(pid_t pgid) {
  ProcessSnapshot s;
  DIR* d = opendir("/proc");
  if (!d) return Status::Error("cannot read /proc");
  bool found = false;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end) continue;
    std::string comm;
    const auto f = StatFields(static_cast<pid_t>(pid), &comm);
    if (f.size() < 18 || std::stol(f[2]) != pgid || comm == "bwrap") continue;
    found = true;
    s.threads += std::stoi(f[17]);
    AddMaps(static_cast<pid_t>(pid), &s);
  }
  closedir(d);
  if (!found) return Status::Error("no process of the worker's group is running");
  return s;
}

std::set<std::string> NeededLibraries(const fs::path& elf) {
  std::set<std::string> out;
  const std::string b = ReadFile(elf);
  if (b.size() < sizeof(Elf64_Ehdr) || std::memcmp(b.data(), ELFMAG, SELFMAG) != 0 ||
      b[EI_CLASS] != ELFCLASS64) {
    return out;
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, b.data(), sizeof(eh));
  std::vector<Elf64_Phdr> ph;
  for (int i = 0; i < eh.e_phnum; ++i) {
    const size_t at = eh.e_phoff + static_cast<size_t>(i) * eh.e_phentsize;
    if (at + sizeof(Elf64_Phdr) > b.size()) return out;
    Elf64_Phdr p;
    std::memcpy(&p, b.data() + at, sizeof(p));
    ph.push_back(p);
  }
  auto to_offset = [&](uint64_t vaddr) -> size_t {
    for (const auto& p : ph) {
      if (p.p_type == PT_LOAD && vaddr >= p.p_vaddr && vaddr < p.p_vaddr + p.p_filesz) {
        return p.p_offset + (vaddr - p.p_vaddr);
      }
    }
    return b.size();
  };
  for (const auto& p : ph) {
    if (p.p_type != PT_DYNAMIC) continue;
    std::vector<uint64_t> needed;
    uint64_t strtab = 0;
    for (size_t at = p.p_offset;
         at + sizeof(Elf64_Dyn) <= p.p_offset + p.p_filesz && at + sizeof(Elf64_Dyn) <= b.size();
         at += sizeof(Elf64_Dyn)) {
      Elf64_Dyn dyn;
      std::memcpy(&dyn, b.data() + at, sizeof(dyn));
      if (dyn.d_tag == DT_NULL) break;
      if (dyn.d_tag == DT_NEEDED) needed.push_back(dyn.d_un.d_val);
      if (dyn.d_tag == DT_STRTAB) strtab = dyn.d_un.d_ptr;
    }
    const size_t str = to_offset(strtab);
    for (uint64_t n : needed) {
      if (str + n < b.size()) out.insert(std::string(b.c_str() + str + n));
    }
  }
  return out;
}

std::optional<std::string> AuditAgainst(const ProcessSnapshot& before, const ProcessSnapshot& now,
                                        const fs::path& library, bool threads_allowed) {
  if (!now.anon_exec.empty()) {
    return "the program made memory executable at run time (" + *now.anon_exec.begin() + ")";
  }
  if (!threads_allowed && now.threads > before.threads) {
    return "the program started threads (" + std::to_string(now.threads - before.threads) +
           " more than the worker's own), which the task forbids";
  }
  // What the candidate's library needs, by file name (a mapped libgomp.so.1.0.0 is the
  // libgomp.so.1 it names), closed over what those need in turn.
  auto named = [](const std::set<std::string>& names, const std::string& path) {
    const std::string file = fs::path(path).filename().string();
    for (const auto& n : names) {
      if (file == n || file.rfind(n + ".", 0) == 0) return true;
    }
    return false;
  };
  std::error_code ec;
  const std::string self = fs::weakly_canonical(library, ec).string();
  std::set<std::string> allowed = NeededLibraries(library);
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& path : now.mapped) {
      if (!named(allowed, path)) continue;
      for (const auto& n : NeededLibraries(path)) grew |= allowed.insert(n).second;
    }
  }
  for (const auto& path : now.mapped) {
    if (before.mapped.count(path) || path == self || path == library.string()) continue;
    if (named(allowed, path)) continue;
    return "the program loaded '" + path +
           "' at run time, a library it was not linked with (the task's policy decides which "
           "libraries a program may use)";
  }
  return std::nullopt;
}

}  // namespace kf::eval
