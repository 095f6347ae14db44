// What xkvmd keeps on disk of each domain so that a restarted daemon can take it back:
// <rundir>/domains/<domid>.json, one JSON object per domain, written atomically (a temporary file
// renamed over it) whenever what it says changes, removed when the domain goes.
//
//   {"version": 1, "domid", "name", "uuid": [16 bytes], "state": "running" | "shutdown",
//    "shutdown_reason"?: SHUTDOWN_*, "shutdown_detail", "vmm_pid", "start_time": unix seconds,
//    "config": libxl JSON (config/json.h), "spec": the VmSpec JSON, "hard", "soft": [[cpu...]...],
//    "nodes": [node...], "restarts"}
//
// The run directory is an input: a record is checked field by field, held to the same size and
// nesting limits as a VMM's messages, and one that fails is refused with the reason (the caller
// sets it aside as <domid>.json.bad and leaves that domain alone).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "ipc/json_message.h"
#include "toolstack/daemon/domain_table.h"

namespace xkvm::toolstack {

inline constexpr uint64_t kRecordVersion = 1;
inline constexpr size_t kMaxRecordBytes = 1u << 20;

ipc::Json record_to_json(const DomainRecord& rec);
// EINVAL naming the field that is wrong.
Result<DomainRecord> record_from_json(const ipc::Json& j);
// The text of <domid>.json: size and nesting checked before parsing; the domid inside must be the
// file's.
Result<DomainRecord> parse_record(std::string_view text, uint32_t file_domid);

struct LoadedRecord {
    uint32_t domid = 0;
    std::string path;
    Result<DomainRecord> record = fail(ENOENT, "not read");
};

// The records in <rundir>/domains: every <domid>.json, parsed or refused. Other names are ignored
// (a leftover temporary file is removed).
std::vector<LoadedRecord> load_records(const std::string& rundir);
// Writes <rundir>/domains/<domid>.json (`text`: record_to_json's) atomically, never through a link.
Status save_record(const std::string& rundir, uint32_t domid, const std::string& text);
void remove_record(const std::string& rundir, uint32_t domid);

} // namespace xkvm::toolstack
