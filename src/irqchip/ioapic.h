// An 82093AA-style IOAPIC (version 0x20, with the EOI register): 24 pins behind the IOREGSEL/IOWIN
// window. Pins are set from any thread; deliveries and EOI callbacks run without the lock held, so a
// host or callback may call back into this IOAPIC.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "irqchip/types.h"

namespace xkvm::irqchip {

class IoapicHost {
public:
    virtual ~IoapicHost() = default;
    // Route the message to the LAPICs (ApicBus::deliver does this).
    virtual void deliver(const InterruptMessage& message) = 0;
};

class Ioapic {
public:
    static constexpr uint64_t kDefaultBase = 0xfec00000;
    static constexpr uint64_t kMmioSize = 0x100;
    static constexpr unsigned kPins = 24;
    static constexpr uint32_t kVersion = 0x00170020; // max redirection entry 23, version 0x20

    explicit Ioapic(IoapicHost& host, uint8_t id = 0);

    // Machine reset: every pin masked, remote IRRs clear; line levels and EOI callbacks stay.
    void reset();

    // Offsets 0x00 (IOREGSEL), 0x10 (IOWIN), 0x40 (EOI). IOREGSEL takes 1, 2 or 4 byte accesses, the
    // others 4; anything else reads 0 and writes nothing.
    uint32_t mmio_read(uint32_t offset, unsigned size = 4);
    void mmio_write(uint32_t offset, uint32_t value, unsigned size = 4);

    // Any thread: the pin's asserted state (active-high; the polarity bit is stored, not applied, as
    // the VMM's lines are already logical).
    void set_irq(unsigned pin, bool level);
    // A LAPIC EOI'd a level-triggered vector: clear remote IRR of the pins carrying it, tell their
    // owners, and deliver again those still asserted.
    void eoi(uint8_t vector);
    // Told (without the lock) after each EOI that cleared the pin's remote IRR, before the IOAPIC looks
    // at the line again: the owner may drop or re-assert it, like KVM's resampling irqfd.
    void set_eoi_callback(unsigned pin, std::function<void()> callback);

    // A resampled level line (KVM's resampling irqfd, the Xen callback GSI): at each EOI of the pin,
    // the line becomes `still_asserted()` before the IOAPIC decides on re-delivery. Evaluated under
    // the IOAPIC's lock, so an owner that counts its events before set_irq(pin, true) never loses
    // one; it must be cheap and must not call into this IOAPIC.
    void set_resample(unsigned pin, std::function<bool()> still_asserted);

    uint64_t redirection(unsigned pin) const;

private:
    static constexpr uint64_t kMasked = 1ull << 16;
    static constexpr uint64_t kLevelTrigger = 1ull << 15;
    static constexpr uint64_t kRemoteIrr = 1ull << 14;

    uint32_t read_register(uint32_t reg) const;
    void write_register(uint32_t reg, uint32_t value, std::vector<InterruptMessage>& out);
    // With the lock held: deliver the pin if it should; level pins latch remote IRR.
    void service(unsigned pin, std::vector<InterruptMessage>& out);
    void send(const std::vector<InterruptMessage>& out);

    IoapicHost& m_host;
    mutable std::mutex m_lock;
    uint32_t m_id;
    uint8_t m_select = 0;
    std::array<uint64_t, kPins> m_redir {};
    std::array<bool, kPins> m_level {};
    std::array<bool, kPins> m_edge_latched {};
    std::array<std::function<void()>, kPins> m_eoi_callbacks;
    std::array<std::function<bool()>, kPins> m_resample;
};

} // namespace xkvm::irqchip
