// The layout of every kforge database: a run's RUN_DIR/run.sqlite and the shared call log
// $KFORGE_CACHE/llm.sqlite hold the same tables (the second only ever has llm_calls rows).
// All of its CREATE statements live in schema.cc, with the migrations that bring a store
// written by an older kforge up to this one.
//
// The version is SQLite's `PRAGMA user_version`, mirrored in meta.schema_version (the key older
// kforge builds check). Stores written before user_version was kept have user_version 0 and
// meta.schema_version '1': they are version 1's tables, possibly without the ones added later
// (migrations, llm_calls), and are migrated when opened for writing. Read-only opens never
// migrate: the readers accept every version from 1 on that this kforge knows.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "store/db.h"
#include "util/status.h"

namespace kf::store {

inline constexpr int kSchemaVersion = 2;

// Opens (creating if needed) the database at `path` for writing, in WAL mode, and migrates it
// to kSchemaVersion. Errors name the file: not a database, a schema version this kforge does
// not know, a migration that failed (the store is left as it was).
Result<std::unique_ptr<Db>> OpenForWriting(const std::filesystem::path& path);

// The schema version of a database opened read-only, or an error when this kforge cannot read
// it (a newer version, or meta.schema_version disagreeing). 0: a store written before the
// version was kept in user_version, read as version 1.
Result<int> ReadableVersion(Db& db);

}  // namespace kf::store
