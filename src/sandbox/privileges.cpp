#include "sandbox/privileges.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "base/unique_fd.h"

namespace xkvm::sandbox {

namespace {

constexpr uint32_t kMaxDomid = 0x7ff0;

Result<uid_t> uid_base()
{
    const char* env = std::getenv("XKVM_VMM_UID_BASE");
    if (!env || !*env)
        return kDefaultUidBase;
    std::string_view s(env);
    uint32_t base = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), base);
    if (ec != std::errc() || end != s.data() + s.size() || base == 0 || base > INT32_MAX - kMaxDomid)
        return fail(EINVAL, "XKVM_VMM_UID_BASE={}: give a uid from 1 to {}", s, INT32_MAX - kMaxDomid);
    return base;
}

} // namespace

Result<std::optional<Identity>> domain_identity(uint32_t domid)
{
    if (::geteuid() != 0)
        return std::optional<Identity>();
    if (domid >= kMaxDomid)
        return fail(EINVAL, "sandbox: domain id {} has no uid of its own", domid);
    uid_t id = TRY(uid_base()) + domid;
    return std::optional<Identity>(Identity { id, static_cast<gid_t>(id) });
}

Status hand_over_dir(const std::string& dir, const Identity& who)
{
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd)
        return make_unexpected(Error::from_errno(fmt::format("sandbox: open {}", dir)));
    if (::fchown(fd.get(), who.uid, who.gid) < 0)
        return make_unexpected(Error::from_errno(fmt::format("sandbox: chown {}", dir)));
    DIR* d = ::fdopendir(::dup(fd.get()));
    if (!d)
        return make_unexpected(Error::from_errno(fmt::format("sandbox: list {}", dir)));
    Status result;
    while (dirent* e = ::readdir(d)) {
        std::string_view name(e->d_name);
        if (name == "." || name == "..")
            continue;
        if (::fchownat(fd.get(), e->d_name, who.uid, who.gid, AT_SYMLINK_NOFOLLOW) < 0 && result)
            result = make_unexpected(Error::from_errno(fmt::format("sandbox: chown {}/{}", dir, name)));
    }
    ::closedir(d);
    return result;
}

Status drop_privileges(const Identity& who)
{
    // glibc applies each of these to every thread of the process (SIGSETXID).
    if (::setgroups(0, nullptr) < 0)
        return make_unexpected(Error::from_errno("sandbox: setgroups"));
    if (::setresgid(who.gid, who.gid, who.gid) < 0)
        return make_unexpected(Error::from_errno(fmt::format("sandbox: setresgid {}", who.gid)));
    if (::setresuid(who.uid, who.uid, who.uid) < 0)
        return make_unexpected(Error::from_errno(fmt::format("sandbox: setresuid {}", who.uid)));
    if (::setresuid(0, 0, 0) == 0 || ::geteuid() != who.uid)
        return fail(EPERM, "sandbox: root could be regained after dropping to uid {}", who.uid);
    return {};
}

Status make_undumpable()
{
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return make_unexpected(Error::from_errno("sandbox: PR_SET_DUMPABLE"));
    return {};
}

Status close_descriptors_except(std::span<const int> keep)
{
    std::vector<unsigned> kept { 0, 1, 2 };
    for (int fd : keep)
        if (fd > 2)
            kept.push_back(static_cast<unsigned>(fd));
    std::sort(kept.begin(), kept.end());
    kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
    kept.push_back(~0u); // a sentinel: everything after the last kept one goes
    for (size_t i = 0; i + 1 < kept.size(); ++i) {
        unsigned first = kept[i] + 1, last = kept[i + 1] == ~0u ? ~0u : kept[i + 1] - 1;
        if (first <= last && ::close_range(first, last, 0) < 0)
            return make_unexpected(Error::from_errno("sandbox: close_range"));
    }
    return {};
}

} // namespace xkvm::sandbox
