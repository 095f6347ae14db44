#include "toolstack/daemon/domain_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <limits>

#include "config/json.h"
#include "ipc/rundir.h"

namespace xkvm::toolstack {

using ipc::Json;

namespace {

// Any pid_t: the pid is only what the daemon expects to find; the kernel says who really listens
// on the VMM's control socket (Daemon::connect_vmm).
constexpr uint64_t kMaxPid = std::numeric_limits<pid_t>::max();
constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxAffinityItems = 4096; // vCPUs, and cpus or nodes per list

Result<std::vector<uint32_t>> uint_list(const Json& j, std::string_view key)
{
    return ipc::get_uint_list(j, key, 65535, kMaxAffinityItems);
}

Result<std::vector<std::vector<uint32_t>>> affinity(const Json& j, std::string_view key)
{
    auto it = j.find(key);
    if (it == j.end() || !it->is_array() || it->size() > kMaxAffinityItems)
        return fail(EINVAL, "'{}' must be a list of at most {} cpu lists", key, kMaxAffinityItems);
    std::vector<std::vector<uint32_t>> out;
    for (const Json& cpus : *it)
        out.push_back(TRY(uint_list(Json { { "cpus", cpus } }, "cpus")));
    return out;
}

Result<std::array<uint8_t, 16>> uuid_of(const Json& j)
{
    auto bytes = TRY(ipc::get_uint_list(j, "uuid", 255, 16));
    if (bytes.size() != 16)
        return fail(EINVAL, "'uuid' must be 16 bytes, not {}", bytes.size());
    std::array<uint8_t, 16> u {};
    for (size_t i = 0; i < 16; ++i)
        u[i] = static_cast<uint8_t>(bytes[i]);
    return u;
}

Result<DomainState> state_of(const Json& j)
{
    auto s = TRY(ipc::get_string(j, "state", 16));
    if (s == state_name(DomainState::Running))
        return DomainState::Running;
    if (s == state_name(DomainState::Shutdown))
        return DomainState::Shutdown;
    return fail(EINVAL, "'state' is '{}', not running or shutdown", s);
}

Status fields_of(const Json& j, DomainRecord& rec)
{
    rec.domid = static_cast<uint32_t>(TRY(ipc::get_uint(j, "domid", kDomidLimit - 1)));
    if (rec.domid < kFirstDomid)
        return fail(EINVAL, "'domid' is 0: the host's");
    rec.name = TRY(ipc::get_string(j, "name", kMaxNameBytes));
    if (rec.name.empty())
        return fail(EINVAL, "'name' is empty");
    rec.uuid = TRY(uuid_of(j));
    rec.state = TRY(state_of(j));
    if (j.contains("shutdown_reason"))
        rec.shutdown_reason = static_cast<unsigned>(TRY(ipc::get_uint(j, "shutdown_reason", 0xff)));
    rec.shutdown_detail = TRY(ipc::opt_string(j, "shutdown_detail", "", 1024));
    rec.vmm_pid = static_cast<pid_t>(TRY(ipc::get_uint(j, "vmm_pid", kMaxPid)));
    if (rec.vmm_pid == 1)
        return fail(EINVAL, "'vmm_pid' is 1: init is no VMM");
    rec.start_time = std::chrono::system_clock::time_point(
        std::chrono::seconds(TRY(ipc::get_int(j, "start_time", 0, INT64_MAX))));
    rec.hard = TRY(affinity(j, "hard"));
    rec.soft = TRY(affinity(j, "soft"));
    rec.nodes = TRY(uint_list(j, "nodes"));
    rec.restarts = static_cast<unsigned>(TRY(ipc::get_uint(j, "restarts", UINT32_MAX)));
    return {};
}

} // namespace

Json record_to_json(const DomainRecord& rec)
{
    Json j {
        { "version", kRecordVersion },
        { "domid", rec.domid },
        { "name", rec.name },
        { "uuid", rec.uuid },
        { "state", std::string(state_name(rec.state)) },
        { "shutdown_detail", rec.shutdown_detail },
        { "vmm_pid", rec.vmm_pid },
        { "start_time",
          std::chrono::duration_cast<std::chrono::seconds>(rec.start_time.time_since_epoch()).count() },
        { "config", config::to_json(rec.config) },
        { "spec", rec.spec },
        { "hard", rec.hard },
        { "soft", rec.soft },
        { "nodes", rec.nodes },
        { "restarts", rec.restarts },
    };
    if (rec.shutdown_reason)
        j["shutdown_reason"] = *rec.shutdown_reason;
    return j;
}

Result<DomainRecord> record_from_json(const Json& j)
{
    if (!j.is_object())
        return fail(EINVAL, "a domain record must be a JSON object");
    auto version = TRY(ipc::get_uint(j, "version"));
    if (version != kRecordVersion)
        return fail(EINVAL, "record version {} is not this daemon's ({})", version, kRecordVersion);
    DomainRecord rec;
    TRY(fields_of(j, rec));
    auto cfg = config::from_json(j["config"]);
    if (!cfg)
        return fail(EINVAL, "'config': {}", cfg.error().message);
    rec.config = cfg.release_value();
    auto spec = j.find("spec");
    if (spec == j.end() || !spec->is_object())
        return fail(EINVAL, "'spec' must be an object");
    auto spec_domid = ipc::get_uint(*spec, "domid");
    if (!spec_domid || *spec_domid != rec.domid)
        return fail(EINVAL, "'spec' is not domain {}'s", rec.domid);
    rec.spec = *spec;
    return rec;
}

Result<DomainRecord> parse_record(std::string_view text, uint32_t file_domid)
{
    if (text.size() > kMaxRecordBytes)
        return fail(E2BIG, "{} bytes; a record is at most {}", text.size(), kMaxRecordBytes);
    auto j = TRY(ipc::parse_json(ipc::Frame::make(ipc::FrameKind::Json, std::string(text)), ipc::kUntrustedJsonLimits));
    auto rec = TRY(record_from_json(j));
    if (rec.domid != file_domid)
        return fail(EINVAL, "it says domain {}, but it is domain {}'s file", rec.domid, file_domid);
    return rec;
}

namespace {

Result<std::string> read_record_text(const std::string& path)
{
    // Never through a link: the record decides which process we talk to.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd)
        return make_unexpected(Error::from_errno("open"));
    std::string text;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof(buf));
        if (n < 0)
            return make_unexpected(Error::from_errno("read"));
        if (n == 0)
            return text;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > kMaxRecordBytes)
            return fail(E2BIG, "larger than {} bytes", kMaxRecordBytes);
    }
}

} // namespace

std::vector<LoadedRecord> load_records(const std::string& rundir)
{
    std::vector<LoadedRecord> out;
    std::error_code ec;
    for (auto& entry : std::filesystem::directory_iterator(ipc::domain_records_dir(rundir), ec)) {
        std::string file = entry.path().filename().string();
        if (file.ends_with(".json.tmp")) {
            ::unlink(entry.path().c_str()); // a write the old daemon did not finish
            continue;
        }
        uint32_t domid = 0;
        auto [end, err] = std::from_chars(file.data(), file.data() + file.size(), domid);
        if (err != std::errc() || std::string_view(end) != ".json")
            continue;
        LoadedRecord l { domid, entry.path().string() };
        auto text = read_record_text(l.path);
        l.record = text ? parse_record(*text, domid) : make_unexpected(text.release_error());
        out.push_back(std::move(l));
    }
    return out;
}

Status save_record(const std::string& rundir, uint32_t domid, const std::string& text)
{
    TRY(ipc::make_dirs(ipc::domain_records_dir(rundir)));
    std::string path = ipc::domain_record_path(rundir, domid);
    std::string tmp = path + ".tmp";
    ::unlink(tmp.c_str());
    {
        auto fd = TRY(ipc::open_private_file(tmp, O_WRONLY | O_TRUNC));
        size_t done = 0;
        while (done < text.size()) {
            ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
            if (n < 0 && errno != EINTR)
                return make_unexpected(Error::from_errno(fmt::format("write {}", tmp)));
            done += n > 0 ? static_cast<size_t>(n) : 0;
        }
    }
    if (::rename(tmp.c_str(), path.c_str()) < 0)
        return make_unexpected(Error::from_errno(fmt::format("rename {}", tmp)));
    return {};
}

void remove_record(const std::string& rundir, uint32_t domid)
{
    ::unlink(ipc::domain_record_path(rundir, domid).c_str());
    ::rmdir(ipc::domain_records_dir(rundir).c_str()); // only once empty: a rundir without domains stays bare
}

} // namespace xkvm::toolstack
