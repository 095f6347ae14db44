// The control operations the daemon may ask of a VMM, in one table, and the status it reports.
#include "vmm/control_loop.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include <fstream>
#include <sstream>

#include "hv/vcpu_runner.h"
#include "ipc/ops.h"
#include "numa/binding.h"
#include "xen/abi/sched.h"
#include "xen/abi/xen.h"

namespace xkvm::vmm {

using ipc::Json;

namespace {

struct ThreadStat {
    uint64_t time_ns = 0;
    int cpu = -1;
};

// utime + stime and the last CPU of one of our threads, from /proc/self/task/<tid>/stat.
ThreadStat read_thread_stat(pid_t tid)
{
    ThreadStat st;
    std::ifstream in(fmt::format("/proc/self/task/{}/stat", tid));
    std::string line;
    if (!std::getline(in, line))
        return st;
    auto close = line.rfind(')'); // the command name may contain anything, even ')'
    if (close == std::string::npos)
        return st;
    std::istringstream fields(line.substr(close + 1));
    std::vector<std::string> f;
    for (std::string s; fields >> s;)
        f.push_back(s);
    // f[0] is field 3 (state): utime is field 14, stime 15, processor 39.
    if (f.size() < 37)
        return st;
    static const long ticks = ::sysconf(_SC_CLK_TCK);
    uint64_t t = std::stoull(f[11]) + std::stoull(f[12]);
    st.time_ns = t * (1000000000ull / static_cast<uint64_t>(ticks > 0 ? ticks : 100));
    st.cpu = std::stoi(f[36]);
    return st;
}

// A network socket: nothing a VMM does needs one, so no thread's filter allows it.
Result<Json> sandbox_probe()
{
    const char* test_ops = std::getenv("XKVM_TEST_OPS");
    if (!test_ops || std::string_view(test_ops) != "1")
        return fail(EPERM, "'{}' is for tests (XKVM_TEST_OPS=1)", ipc::ops::kSandboxProbe);
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    return fail(EPERM, "the sandbox is off: a network socket was {}", fd ? "allowed" : "refused");
}

} // namespace

Json ControlLoop::status()
{
    Machine& m = *m_machine;
    Json vcpus = Json::array();
    uint64_t total = 0;
    for (uint32_t i = 0; i < m.vcpu_count(); ++i) {
        auto& r = m.runner(i);
        pid_t tid = r.tid();
        auto st = read_thread_stat(tid);
        total += st.time_ns;
        uint32_t reasons = r.pause_reasons();
        Json affinity = Json::array();
        if (auto set = numa::query_thread_affinity(tid))
            for (uint32_t cpu : set->ids())
                affinity.push_back(cpu);
        vcpus.push_back(Json {
            { "id", i },
            { "tid", tid },
            { "cpu", st.cpu },
            { "time_ns", st.time_ns },
            { "online", m.vcpu_known_up(i) },
            { "blocked", (reasons & hv::kPauseBlocked) != 0 },
            { "paused", (reasons & (hv::kPauseController | hv::kPauseShutdown)) != 0 },
            { "running", reasons == 0 },
            { "affinity", affinity },
        });
    }
    return Json { { "paused", m.paused() }, { "shutdown", m.shutdown_info().has_value() },
                  { "cpu_time_ns", total }, { "vcpus", vcpus } };
}

Result<Json> ControlLoop::dispatch(const Call& call)
{
    namespace ops = ipc::ops;
    using Done = Result<Json>;
    struct Entry {
        std::string_view op;
        Result<Json> (*run)(ControlLoop&, Machine&, const Call&);
    };
    static constexpr Entry kOps[] = {
        { ops::kPause, [](ControlLoop&, Machine& m, const Call&) -> Done { return m.pause(), Json::object(); } },
        { ops::kUnpause, [](ControlLoop&, Machine& m, const Call&) -> Done { return m.unpause(), Json::object(); } },
        { ops::kStatus, [](ControlLoop& l, Machine&, const Call&) -> Done { return l.status(); } },
        { ops::kSetAffinity, [](ControlLoop&, Machine& m, const Call& c) -> Done {
             uint32_t vcpu = static_cast<uint32_t>(TRY(ipc::get_uint(c.req, "vcpu", UINT32_MAX)));
             auto cpus = TRY(ipc::get_uint_list(c.req, "cpus", 65535, 65536));
             if (vcpu >= m.vcpu_count())
                 return fail(EINVAL, "vCPU {} does not exist (the domain has {})", vcpu, m.vcpu_count());
             TRY(m.set_vcpu_affinity(vcpu, cpus));
             return Json::object();
         } },
        { ops::kSetMaxMemory, [](ControlLoop&, Machine& m, const Call& c) -> Done {
             TRY(m.set_max_memory_kib(TRY(ipc::get_uint(c.req, "kib"))));
             return Json::object();
         } },
        { ops::kConsoleInput, [](ControlLoop&, Machine& m, const Call& c) -> Done {
             m.console_input(TRY(ipc::get_string(c.req, "data", 64 * 1024)));
             return Json::object();
         } },
        { ops::kShutdownRequest, [](ControlLoop&, Machine& m, const Call& c) -> Done {
             auto reason = TRY(ipc::get_uint(c.req, "reason", SHUTDOWN_MAX));
             m.guest_shutdown(static_cast<unsigned>(reason), "requested by the toolstack");
             return Json::object();
         } },
        { ops::kDebugVirq, [](ControlLoop&, Machine& m, const Call&) -> Done {
             for (uint32_t v = 0; v < m.vcpu_count(); ++v)
                 m.xen().evtchn().raise_virq(VIRQ_DEBUG, v);
             return Json::object();
         } },
        { ops::kEndConsole, [](ControlLoop& l, Machine&, const Call&) -> Done { return l.close_consoles(), Json::object(); } },
        { ops::kAdopt, [](ControlLoop& l, Machine&, const Call& c) { return l.adopt(c); } },
        { ops::kDestroy, [](ControlLoop& l, Machine&, const Call&) -> Done { return l.m_exit = true, Json::object(); } },
        { ops::kSandboxProbe, [](ControlLoop&, Machine&, const Call&) { return sandbox_probe(); } },
        { ops::kEvtchnConnect, [](ControlLoop& l, Machine&, const Call& c) { return l.relay(c); } },
        { ops::kEvtchnPeerClosed, [](ControlLoop& l, Machine&, const Call& c) { return l.relay(c); } },
        { ops::kEvtchnDomainGone, [](ControlLoop& l, Machine&, const Call& c) { return l.relay(c); } },
    };
    for (const Entry& e : kOps)
        if (e.op == call.op)
            return e.run(*this, *m_machine, call);
    return fail(EOPNOTSUPP, "unknown control operation '{}'", call.op);
}

Result<Json> ControlLoop::relay(const Call& c)
{
    return m_relay->handle(c.op, c.req, c.fds, c.reply_fds);
}

} // namespace xkvm::vmm
