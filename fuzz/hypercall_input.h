// The input format of hypercall_fuzz, shared by the target (which decodes it) and the seed writer
// (which encodes it), so seeds cannot drift from the decoder.
//
// An input is one setup byte, then steps until the bytes run out (a short read yields zeros):
//
//   setup       bits 0-1 vCPUs - 1; bit 2 HVM (else PVH); bit 3 legacy-pin VIRQs offered;
//               bits 4-5 max event-channel port: 1023, 63, 4095, 7; bit 6 a peer domain reached
//               through the VMM's interdomain broker; bit 7 two vCPU threads race (with >= 2 vCPUs:
//               the steps after the split point run on a second thread, as odd vCPUs)
//   split       u16, only with bit 7: where in the rest of the input the second thread's steps start
//   step        tag byte, tag % kStepKinds:
//     Hypercall    op u8, flags u8, paging u8, six arguments
//                  flags: bit 0 64-bit caller; bits 1-2 CPL; bits 3-4 vCPU (mod vCPUs)
//                  paging: bits 0-2 mode (0 off, 1 32-bit, 2 PAE, 3 4-level, 4 5-level, other off);
//                          bit 3 CR0.WP; bit 4 CR4.PSE; bit 5 EFER.NXE; bits 6-7 CR3 = window page
//                  argument: kind u8 (kind % 8 is an Arg), then its payload
//     GuestWrite   page u8, offset u16, length u8, bytes (window_address() says where): the guest
//                  storing into its own RAM (structures, page tables, pages it handed to Xen)
//     Advance      shift u8 (mod 41), amount u16: the guest clock jumps by amount << shift ns (it
//                  also runs in real time: alarms run on the VMM's timer thread)
//     HostRaise    how u8, value u16: bit 0 of how set: a VIRQ (value mod 64) on vCPU (how >> 1);
//                  else an event on port `value`, as a backend would
//     HostBackend  remote port u16: the VMM binds a backend channel (console/xenstore style)
//     Peer         op u8, index u8: the peer domain (setup bit 6) acts on its own channels, through
//                  its own broker: op % 5 is alloc_unbound for us, bind_interdomain to our
//                  remembered port `index`, send / close on its remembered port `index`, or the
//                  daemon telling us the peer is gone. Ports it gets are remembered.
//     PortWrite    page u8, offset u16, index u8: stores remembered port `index` (u32) into the
//                  window, so ports that calls returned feed later calls
//
// Remembered ports: what EVTCHNOP_alloc_unbound / bind_* returned to us (index even) and what the
// peer got (index odd); an index past the list picks a small raw number instead.
//
// Guest-physical layout (paging off: virtual == physical), small so that resetting it between
// inputs is cheap: [0, 128 KiB) RAM; one read-only page after it; a hole; [192 KiB, 256 KiB) RAM.
//   The window (kWindowPages pages at kWindow) is where pointer arguments aim.
// Backing file: RAM (by GPA), then the domain's shared_info page, then a canary page never mapped.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace xkvm::fuzz {

inline constexpr uint64_t kPage = 4096;
inline constexpr uint64_t kRamBytes = 0x40000;
inline constexpr uint64_t kLowRamEnd = 0x20000;
inline constexpr uint64_t kReadOnlyPage = 0x20000;
inline constexpr uint64_t kHighRamStart = 0x30000;
inline constexpr uint64_t kWindow = 0x10000;
inline constexpr unsigned kWindowPages = 8;
inline constexpr uint64_t kSharedInfoOffset = kRamBytes;      // in the backing file
inline constexpr uint64_t kCanaryOffset = kRamBytes + kPage;   // in the backing file
inline constexpr uint64_t kBackingBytes = kRamBytes + 2 * kPage;

inline constexpr uint8_t kSetupHvm = 1 << 2;
inline constexpr uint8_t kSetupPinVirqs = 1 << 3;
inline constexpr uint8_t kSetupPeer = 1 << 6;
inline constexpr uint8_t kSetupRace = 1 << 7;
inline constexpr uint16_t kSelfDomid = 5, kPeerDomid = 6;
inline constexpr std::array<uint32_t, 4> kMaxPorts { 1023, 63, 4095, 7 };

enum class Step : uint8_t { Hypercall, GuestWrite, Advance, HostRaise, HostBackend, Peer, PortWrite };
inline constexpr unsigned kStepKinds = 7;
enum class PeerOp : uint8_t { AllocUnbound, BindInterdomain, Send, Close, Gone };
inline constexpr unsigned kPeerOps = 5;

inline constexpr uint8_t kFlag64 = 1;
inline constexpr uint8_t flags_of(bool mode64, uint8_t cpl = 0, uint8_t vcpu = 0)
{
    return static_cast<uint8_t>((mode64 ? kFlag64 : 0) | ((cpl & 3) << 1) | ((vcpu & 3) << 3));
}

enum class Paging : uint8_t { Off, Bits32, Pae, Level4, Level5 };
inline constexpr uint8_t kPagingWp = 1 << 3, kPagingPse = 1 << 4, kPagingNx = 1 << 5;
inline constexpr uint8_t paging_of(Paging mode, uint8_t extra = 0, uint8_t cr3_page = 0)
{
    return static_cast<uint8_t>(static_cast<uint8_t>(mode) | extra | ((cr3_page & 3) << 6));
}

enum class Arg : uint8_t {
    Imm8,       // u8
    Imm16,      // u16
    Imm32,      // u32
    Imm64,      // u64
    Window,     // page u8, offset u16: window_address(page, offset)
    RamEnd,     // back u16: the end of RAM minus `back` (structures that run off the end)
    SharedInfo, // offset u16: into shared_info wherever the guest mapped it (else the window)
    Negative,   // u8, sign-extended: -1, -128 ...
};

// Window page + offset, wrapping inside the window (a run of bytes may continue past a page).
inline constexpr uint64_t window_address(uint64_t page, uint64_t offset)
{
    return kWindow + ((page % kWindowPages) * kPage + offset) % (kWindowPages * kPage);
}

// Little-endian reader that yields zeros once the input is used up.
class Reader {
public:
    explicit Reader(std::span<const uint8_t> in) : m_in(in) { }
    bool empty() const { return m_pos >= m_in.size(); }
    uint8_t u8() { return m_pos < m_in.size() ? m_in[m_pos++] : 0; }
    uint64_t le(unsigned bytes)
    {
        uint64_t v = 0;
        for (unsigned i = 0; i < bytes; ++i)
            v |= static_cast<uint64_t>(u8()) << (8 * i);
        return v;
    }
    std::span<const uint8_t> bytes(size_t n)
    {
        n = std::min(n, m_in.size() - std::min(m_pos, m_in.size()));
        auto out = m_in.subspan(m_pos, n);
        m_pos += n;
        return out;
    }

private:
    std::span<const uint8_t> m_in;
    size_t m_pos = 0;
};

// Builds inputs for the seed corpus.
class Program {
public:
    struct ArgSpec {
        Arg kind = Arg::Imm8;
        uint64_t a = 0, b = 0;
    };
    static ArgSpec imm(uint64_t v)
    {
        Arg k = v <= 0xff ? Arg::Imm8 : v <= 0xffff ? Arg::Imm16 : v <= 0xffffffffu ? Arg::Imm32 : Arg::Imm64;
        return { k, v, 0 };
    }
    static ArgSpec window(unsigned page, unsigned offset = 0) { return { Arg::Window, page, offset }; }
    static ArgSpec ram_end(unsigned back) { return { Arg::RamEnd, back, 0 }; }
    static ArgSpec shared_info(unsigned offset) { return { Arg::SharedInfo, offset, 0 }; }
    static ArgSpec negative(uint8_t v) { return { Arg::Negative, v, 0 }; }

    explicit Program(uint8_t setup = 0) { m_bytes.push_back(setup); }
    // With kSetupRace: the second thread's steps start `split` bytes after this point.
    Program& split_at(uint16_t split)
    {
        put_u(split, 2);
        return *this;
    }
    static Program from(std::vector<uint8_t> bytes)
    {
        Program p;
        p.m_bytes = std::move(bytes);
        return p;
    }

    Program& hypercall(uint8_t op, uint8_t flags, uint8_t paging, std::initializer_list<ArgSpec> args)
    {
        put_u(static_cast<uint8_t>(Step::Hypercall), 1);
        put_u(op, 1);
        put_u(flags, 1);
        put_u(paging, 1);
        unsigned n = 0;
        for (const auto& a : args) {
            arg(a);
            ++n;
        }
        for (; n < 6; ++n)
            arg(imm(0));
        return *this;
    }
    // 64-bit caller at CPL0 on vCPU 0 with paging off: the common case.
    Program& call(uint8_t op, std::initializer_list<ArgSpec> args) { return hypercall(op, flags_of(true), 0, args); }
    Program& call32(uint8_t op, std::initializer_list<ArgSpec> args) { return hypercall(op, flags_of(false), 0, args); }

    Program& write(unsigned page, unsigned offset, std::span<const uint8_t> data)
    {
        for (size_t done = 0; done < data.size();) {
            size_t n = std::min<size_t>(data.size() - done, 255);
            put_u(static_cast<uint8_t>(Step::GuestWrite), 1);
            put_u(page, 1);
            put_u(offset + done, 2);
            put_u(n, 1);
            m_bytes.insert(m_bytes.end(), data.begin() + done, data.begin() + done + n);
            done += n;
        }
        return *this;
    }
    template<typename T>
    Program& put(unsigned page, unsigned offset, const T& v)
    {
        return write(page, offset, std::span(reinterpret_cast<const uint8_t*>(&v), sizeof(T)));
    }
    Program& advance(uint8_t shift, uint16_t amount)
    {
        put_u(static_cast<uint8_t>(Step::Advance), 1);
        put_u(shift, 1);
        put_u(amount, 2);
        return *this;
    }
    Program& raise_port(uint16_t port)
    {
        put_u(static_cast<uint8_t>(Step::HostRaise), 1);
        put_u(0, 1);
        put_u(port, 2);
        return *this;
    }
    Program& raise_virq(uint16_t virq, uint8_t vcpu)
    {
        put_u(static_cast<uint8_t>(Step::HostRaise), 1);
        put_u(static_cast<uint8_t>(1 | (vcpu << 1)), 1);
        put_u(virq, 2);
        return *this;
    }
    Program& backend(uint16_t remote_port)
    {
        put_u(static_cast<uint8_t>(Step::HostBackend), 1);
        put_u(remote_port, 2);
        return *this;
    }
    Program& peer(PeerOp op, uint8_t index = 0)
    {
        put_u(static_cast<uint8_t>(Step::Peer), 1);
        put_u(static_cast<uint8_t>(op), 1);
        put_u(index, 1);
        return *this;
    }
    Program& port_write(unsigned page, unsigned offset, uint8_t index)
    {
        put_u(static_cast<uint8_t>(Step::PortWrite), 1);
        put_u(page, 1);
        put_u(offset, 2);
        put_u(index, 1);
        return *this;
    }
    const std::vector<uint8_t>& bytes() const { return m_bytes; }

private:
    void put_u(uint64_t v, unsigned n)
    {
        for (unsigned i = 0; i < n; ++i)
            m_bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    void arg(const ArgSpec& a)
    {
        put_u(static_cast<uint8_t>(a.kind), 1);
        switch (a.kind) {
        case Arg::Imm8: case Arg::Negative: put_u(a.a, 1); break;
        case Arg::Imm16: case Arg::RamEnd: case Arg::SharedInfo: put_u(a.a, 2); break;
        case Arg::Imm32: put_u(a.a, 4); break;
        case Arg::Imm64: put_u(a.a, 8); break;
        case Arg::Window: put_u(a.a, 1); put_u(a.b, 2); break;
        }
    }

    std::vector<uint8_t> m_bytes;
};

} // namespace xkvm::fuzz
