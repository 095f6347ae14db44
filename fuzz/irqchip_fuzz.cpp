// Drives a small machine (two LAPICs, an IOAPIC, the PIC pair, the APIC bus) with a program of guest
// register accesses, device lines, clock steps and vCPU-side actions, checking invariants each step.
// Input: a sequence of (opcode, operands) records; a short read ends the program.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "irqchip/apic_bus.h"
#include "irqchip/ioapic.h"
#include "irqchip/lapic.h"
#include "irqchip/msi.h"
#include "irqchip/pic.h"

using namespace xkvm::irqchip;

namespace {

class Reader {
public:
    Reader(const uint8_t* data, size_t size) : m_data(data), m_size(size) { }
    bool done() const { return m_pos >= m_size; }
    template<typename T>
    T get()
    {
        T value {};
        size_t n = sizeof(T) < m_size - m_pos ? sizeof(T) : m_size - m_pos;
        std::memcpy(&value, m_data + m_pos, n);
        m_pos += n;
        return value;
    }

private:
    const uint8_t* m_data;
    size_t m_size;
    size_t m_pos = 0;
};

void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

struct Machine;

struct CpuHost : LapicHost {
    Machine* machine = nullptr;
    void send_ipi(const Ipi& ipi) override;
    void eoi_level(uint8_t vector) override;
    void kick() override { }
    uint64_t now_ns() override;
    uint64_t tsc_to_ns(uint64_t tsc) override { return tsc / 3; }
};

struct Machine : IoapicHost {
    Machine()
    {
        for (auto& h : hosts)
            h.machine = this;
        bus.attach(lapic0);
        bus.attach(lapic1);
        // Pin 5's owner re-enters the IOAPIC from its EOI callback; pin 9 is a resampled line.
        ioapic.set_eoi_callback(5, [this] { ioapic.set_irq(5, callback_level); });
        ioapic.set_resample(9, [this] { return callback_level; });
    }
    void deliver(const InterruptMessage& message) override { bus.deliver(message); }

    uint64_t now = 0;
    bool callback_level = false;
    CpuHost hosts[2];
    Lapic lapic0 { 0, true, hosts[0] };
    Lapic lapic1 { 1, false, hosts[1] };
    ApicBus bus;
    Ioapic ioapic { *this };
    Pic pic;
    Lapic& lapic(uint8_t which) { return which & 1 ? lapic1 : lapic0; }
};

void CpuHost::send_ipi(const Ipi& ipi) { machine->bus.send_ipi(ipi); }
void CpuHost::eoi_level(uint8_t vector) { machine->ioapic.eoi(vector); }
uint64_t CpuHost::now_ns() { return machine->now; }

uint32_t msr_index(uint8_t choice, uint8_t low)
{
    switch (choice % 4) {
    case 0: return Lapic::kMsrApicBase;
    case 1: return Lapic::kMsrTscDeadline;
    case 2: return Lapic::kMsrX2apicFirst + low;
    default: return low; // not ours
    }
}

// The vCPU side: what acknowledge() hands out must be a legal vector that was deliverable. True if
// it took one.
bool run_vcpu(Lapic& lapic, bool do_eoi)
{
    bool pending = lapic.interrupt_pending();
    auto vector = lapic.acknowledge();
    check(pending == vector.has_value());
    if (!vector)
        return false;
    check(*vector >= kFirstLegalVector);
    if (do_eoi) {
        if (lapic.x2apic_mode())
            check(lapic.msr_write(0x80b, 0) == MsrAccess::Ok);
        else
            lapic.mmio_write(0xb0, 0);
    }
    return true;
}

// Opcodes 0-6: one LAPIC as its guest and vCPU see it.
void lapic_step(Machine& m, Lapic& lapic, uint8_t op, uint8_t which, Reader& in)
{
    unsigned size = 1u << (which >> 6);
    switch (op) {
    case 0: lapic.mmio_write(in.get<uint16_t>(), in.get<uint32_t>(), size); break;
    case 1: {
        uint32_t offset = in.get<uint16_t>();
        uint32_t value = lapic.mmio_read(offset, size);
        if (offset == 0x30 && size == 4 && lapic.mmio_enabled())
            check(value == Lapic::kVersion);
        break;
    }
    case 2: {
        uint32_t index = msr_index(which >> 1, in.get<uint8_t>());
        MsrAccess r = lapic.msr_write(index, in.get<uint64_t>());
        bool mine = index >= Lapic::kMsrX2apicFirst || index == Lapic::kMsrApicBase || index == Lapic::kMsrTscDeadline;
        check(mine == (r != MsrAccess::NotMine));
        break;
    }
    case 3: {
        uint64_t value = 0;
        (void)lapic.msr_read(msr_index(which >> 1, in.get<uint8_t>()), value);
        break;
    }
    case 4: lapic.accept(static_cast<DeliveryMode>(in.get<uint8_t>() & 7), in.get<uint8_t>(), which & 2); break;
    case 5: (void)run_vcpu(lapic, which & 2); break;
    default: {
        m.now += in.get<uint32_t>();
        lapic.update_timer(m.now);
        if (auto d = lapic.next_deadline_ns())
            check(*d > m.now); // update_timer leaves nothing already due
        break;
    }
    }
}

// Opcodes 7-13: the IOAPIC, the PIC, MSIs and the vCPU's pending events.
void device_step(Machine& m, Lapic& lapic, uint8_t op, uint8_t which, Reader& in)
{
    static constexpr uint16_t kPicPorts[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x22, 0x80 };
    switch (op) {
    case 7: {
        uint16_t offset = in.get<uint8_t>();
        if (which & 2)
            m.ioapic.mmio_write(offset, in.get<uint32_t>(), 1u << (which >> 6));
        else
            (void)m.ioapic.mmio_read(offset, 1u << (which >> 6));
        break;
    }
    case 8:
        m.callback_level = which & 4;
        m.ioapic.set_irq(in.get<uint8_t>() % 32, which & 2);
        break;
    case 9:
        if (which & 0x10)
            m.pic.io_write(kPicPorts[(which >> 1) & 7], in.get<uint8_t>());
        else
            (void)m.pic.io_read(kPicPorts[(which >> 1) & 7]);
        break;
    case 10: m.pic.set_irq(in.get<uint8_t>() % 20, which & 2); break;
    case 11:
        if (m.pic.output() || (which & 2))
            (void)m.pic.acknowledge();
        break;
    case 12:
        if (auto msg = decode_msi(in.get<uint64_t>(), in.get<uint32_t>()))
            m.bus.deliver(*msg);
        break;
    default:
        (void)lapic.take_init();
        (void)lapic.take_sipi();
        (void)lapic.take_nmi();
        (void)lapic.take_extint();
        lapic.set_lint(which >> 7, which & 2);
        break;
    }
}

void step(Machine& m, Reader& in)
{
    uint8_t op = in.get<uint8_t>() % 14;
    uint8_t which = in.get<uint8_t>();
    if (op < 7)
        lapic_step(m, m.lapic(which), op, which, in);
    else
        device_step(m, m.lapic(which), op, which, in);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    Machine m;
    Reader in(data, size);
    for (unsigned steps = 0; !in.done() && steps < 4096; ++steps)
        step(m, in);
    // Let both vCPUs take and EOI what is left (bounded: a level line held high re-delivers forever).
    // Once neither has anything to take, nothing can arrive any more (no clock step, no EOI, one
    // thread), and every further round would be the same empty one.
    for (unsigned i = 0; i < 600; ++i) {
        bool took0 = run_vcpu(m.lapic0, true);
        bool took1 = run_vcpu(m.lapic1, true);
        if (!took0 && !took1)
            break;
    }
    return 0;
}
