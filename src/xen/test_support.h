// A fake machine for testing the Xen layer without KVM: a physmap, recorded platform actions, and a
// helper that issues hypercalls the way the VMM does.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "xen/domain.h"
#include "xen/fake_alarms.h"
#include "xen/hypercall.h"
#include "xen/xen_errno.h"

namespace xkvm::xen::testing {

class FakePlatform : public Platform, public FakeAlarms {
public:
    explicit FakePlatform(uint64_t ram_bytes = 16 * memory::MiB)
    {
        mem = memory::Physmap::create(ram_bytes + memory::kPageSize, "xen-test").release_value();
        EXPECT_TRUE(mem->map(0, ram_bytes, 0));
        shared_info_offset = ram_bytes;
    }

    memory::Physmap& physmap() override { return *mem; }
    void console_write(std::string_view bytes) override { console.append(bytes); }
    void kick_vcpu(uint32_t vcpu) override { kicks.push_back(vcpu); }
    void lapic_vector(uint32_t vcpu, uint8_t vector) override { lapic.emplace_back(vcpu, vector); }
    void assert_callback_gsi(uint32_t gsi) override { gsi_levels[gsi] = true; }
    uint64_t system_time_ns() const override { return now_ns; }
    uint64_t set_alarm(uint64_t deadline_ns, std::function<void()> fn) override
    {
        return add_alarm(deadline_ns, std::move(fn));
    }
    void cancel_alarm(uint64_t handle) override { remove_alarm(handle); }
    // Move the clock forward, running the alarms that come due (in deadline order).
    void advance(uint64_t ns)
    {
        now_ns += ns;
        run_due();
    }
    Status vcpu_initialise(uint32_t vcpu, const x86::CpuState& state) override
    {
        initialised[vcpu] = state;
        return {};
    }
    Status vcpu_up(uint32_t vcpu) override
    {
        up.insert(vcpu);
        return {};
    }
    Status vcpu_down(uint32_t vcpu) override
    {
        up.erase(vcpu);
        return {};
    }
    bool vcpu_is_up(uint32_t vcpu) const override { return up.count(vcpu) != 0; }

    std::unique_ptr<memory::Physmap> mem;
    uint64_t shared_info_offset = 0;
    std::string console;
    std::vector<uint32_t> kicks;
    std::vector<std::pair<uint32_t, uint8_t>> lapic;
    std::map<uint32_t, bool> gsi_levels;
    std::set<uint32_t> up { 0 };
    std::map<uint32_t, x86::CpuState> initialised;
};

// A domain on a FakePlatform, plus a scratch area in guest memory for hypercall arguments.
struct XenFixture : ::testing::Test {
    static constexpr uint64_t kScratch = 0x100000;
    FakePlatform platform;
    std::unique_ptr<Domain> domain;

    void SetUp() override { make_domain(4); }

    void make_domain(uint32_t vcpus, uint32_t max_evtchn_port = 1023)
    {
        DomainSetup s;
        s.domid = 7;
        s.name = "test";
        s.max_vcpus = vcpus;
        s.memory_map = { { 0, 0x9f000, memory::RegionType::Ram, "" },
                         { 0x100000, 15 * memory::MiB, memory::RegionType::Ram, "" },
                         { 0xfc000000, 0x4000000, memory::RegionType::Reserved, "" } };
        s.ram_pages = 4000;
        s.max_pages = 4096;
        s.max_evtchn_port = max_evtchn_port;
        s.clock = clock_params_for(2'000'000, true);
        s.shared_info_page = platform.mem->host_base() + platform.shared_info_offset;
        s.shared_info_offset = platform.shared_info_offset;
        domain = std::make_unique<Domain>(platform, s);
    }

    // Issue hypercall `op` from vCPU `vcpu` in 64-bit mode at CPL0 (paging off: VA == GPA).
    int64_t call(uint64_t op, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint32_t vcpu = 0,
                 uint8_t cpl = 0, bool mode64 = true)
    {
        x86::PagingMode mode;
        mode.cpl = cpl;
        last = std::make_unique<HypercallContext>(HypercallContext {
            *domain, vcpu, mode64, cpl, op, { a0, a1, a2, 0, 0, 0 }, x86::GuestVirtual(*platform.mem, mode) });
        return dispatch_hypercall(*last);
    }

    template<typename T>
    uint64_t put(const T& v, uint64_t at = kScratch)
    {
        EXPECT_TRUE(platform.mem->write_obj(at, v));
        return at;
    }
    template<typename T>
    T get(uint64_t at = kScratch)
    {
        return platform.mem->read_obj<T>(at).value();
    }

    std::unique_ptr<HypercallContext> last;
};

} // namespace xkvm::xen::testing
