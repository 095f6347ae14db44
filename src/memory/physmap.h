// The guest-physical address space of one domain: which guest ranges are backed by which part of the
// domain's memory file, with what protection. Everything that reads or writes guest memory goes through
// here, so every guest-supplied address is bounds-checked in one place.
//
// Listeners hear every change (the KVM memslot sync today; the IOMMU and vm_event later).
#pragma once

#include <cstdint>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "memory/memory_map.h"

namespace xkvm::memory {

enum class Protection : uint8_t {
    ReadWrite,
    ReadOnly, // guest writes exit to the VMM (KVM_MEM_READONLY)
};

struct Mapping {
    Gpa gpa = 0;
    uint64_t size = 0;
    uint64_t offset = 0; // into the backing file
    Protection prot = Protection::ReadWrite;

    Gpa end() const { return gpa + size; }
    bool operator==(const Mapping&) const = default;
};

class PhysmapListener {
public:
    virtual ~PhysmapListener() = default;
    // Called with the physmap's write lock held, in order: removals of changed entries first, then
    // the entries that replace them.
    virtual void physmap_unmapped(const Mapping&) = 0;
    virtual void physmap_mapped(const Mapping&, uint8_t* host) = 0;
    // After the removals and additions of one change (and after add_listener's replay): a listener
    // can diff them here, since a change to part of an entry is told as the whole entry going and
    // its remaining pieces coming back.
    virtual void physmap_change_done() { }
};

class Physmap {
public:
    // A memfd of `backing_bytes` (page multiple), mapped once for the life of the domain. Pages are
    // not touched here, so a NUMA policy can still be applied to host_base() before they are.
    static Result<std::unique_ptr<Physmap>> create(uint64_t backing_bytes, const std::string& name);
    ~Physmap();
    Physmap(const Physmap&) = delete;
    Physmap& operator=(const Physmap&) = delete;

    int memfd() const { return m_memfd.get(); }
    uint8_t* host_base() const { return m_host; }
    uint64_t backing_size() const { return m_backing_size; }

    // Map guest [gpa, gpa+size) to backing [offset, offset+size). Page aligned; no overlap with an
    // existing mapping; inside the backing file.
    Status map(Gpa gpa, uint64_t size, uint64_t offset, Protection prot = Protection::ReadWrite);
    // Remove whatever is mapped in [gpa, gpa+size), splitting entries that straddle the edges.
    Status unmap(Gpa gpa, uint64_t size);
    // Change the protection of mapped pages in the range (splitting as needed).
    Status protect(Gpa gpa, uint64_t size, Protection prot);

    void add_listener(PhysmapListener* listener);
    void remove_listener(PhysmapListener* listener);

    std::vector<Mapping> mappings() const;
    bool is_mapped(Gpa gpa) const;
    // The mapped parts of [gpa, gpa+size), clipped to the range, in guest order.
    std::vector<Mapping> mapped_in(Gpa gpa, uint64_t size) const;

    // Give backing pages back to the host (hole punch: they read as zero afterwards). Page aligned,
    // inside the backing file; the caller has unmapped them from the guest.
    Status discard(uint64_t offset, uint64_t size);

    // Host view of guest [gpa, gpa+len): fails with EFAULT unless the whole range is mapped and
    // contiguous in the backing file (and writable, when `for_write`). The pointer stays valid for
    // the life of the Physmap (the host mapping never moves), though a later unmap makes it stale.
    Result<uint8_t*> host_range(Gpa gpa, uint64_t len, bool for_write) const;

    // Copies that may cross mapping boundaries; EFAULT if any byte is unmapped.
    Status read(Gpa gpa, std::span<uint8_t> out) const;
    Status write(Gpa gpa, std::span<const uint8_t> in);
    Status fill(Gpa gpa, uint8_t byte, uint64_t len);

    template<typename T>
        requires std::is_trivially_copyable_v<T>
    Result<T> read_obj(Gpa gpa) const
    {
        T value;
        TRY(read(gpa, std::span(reinterpret_cast<uint8_t*>(&value), sizeof(T))));
        return value;
    }
    template<typename T>
        requires std::is_trivially_copyable_v<T>
    Status write_obj(Gpa gpa, const T& value)
    {
        return write(gpa, std::span(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
    }

private:
    Physmap(UniqueFd fd, uint8_t* host, uint64_t size) : m_memfd(std::move(fd)), m_host(host), m_backing_size(size) { }

    // Index of the entry containing gpa, or -1. Caller holds the lock.
    long find_locked(Gpa gpa) const;
    // Split the entry containing `at` so that `at` becomes an entry boundary. Caller holds the write lock.
    void split_at_locked(Gpa at);
    std::vector<Mapping> overlapping_locked(Gpa gpa, uint64_t size) const;
    // Apply `edit` to every mapped page run inside the range (returning false drops it) and tell the
    // listeners what changed.
    template<typename Edit>
    Status rewrite(Gpa gpa, uint64_t size, Edit&& edit);
    void notify_locked(const std::vector<Mapping>& removed, const std::vector<Mapping>& added);
    template<typename Fn>
    Status for_each_chunk(Gpa gpa, uint64_t len, bool for_write, Fn&& fn) const;

    UniqueFd m_memfd;
    uint8_t* m_host = nullptr;
    uint64_t m_backing_size = 0;

    mutable std::shared_mutex m_lock;
    std::vector<Mapping> m_entries; // sorted by gpa, non-overlapping
    std::vector<PhysmapListener*> m_listeners;
};

// A range [base, base+len) that does not wrap and is page aligned.
inline bool is_page_aligned(uint64_t v) { return (v & (kPageSize - 1)) == 0; }
inline bool range_wraps(uint64_t base, uint64_t len) { return base + len < base; }

} // namespace xkvm::memory
