// Sets of host CPUs and NUMA nodes, and Xen's CPU-set string grammar ("0-3,^2,nodes:1,all").
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/device_specs.h"

namespace xkvm::numa {

// A growable bitmap of small ids. Tag keeps CPU sets and node sets from being mixed up.
template<typename Tag>
class IdSet {
public:
    IdSet() = default;
    IdSet(std::initializer_list<uint32_t> ids)
    {
        for (uint32_t id : ids)
            set(id);
    }
    static IdSet from_ids(const std::vector<uint32_t>& ids)
    {
        IdSet s;
        for (uint32_t id : ids)
            s.set(id);
        return s;
    }
    // [first, last], inclusive.
    static IdSet range(uint32_t first, uint32_t last)
    {
        IdSet s;
        for (uint64_t id = first; id <= last; ++id)
            s.set(static_cast<uint32_t>(id));
        return s;
    }

    void set(uint32_t id)
    {
        size_t word = id / 64;
        if (word >= m_words.size())
            m_words.resize(word + 1, 0);
        m_words[word] |= uint64_t { 1 } << (id % 64);
    }
    void reset(uint32_t id)
    {
        size_t word = id / 64;
        if (word < m_words.size())
            m_words[word] &= ~(uint64_t { 1 } << (id % 64));
    }
    bool test(uint32_t id) const
    {
        size_t word = id / 64;
        return word < m_words.size() && (m_words[word] >> (id % 64)) & 1;
    }
    void clear() { m_words.clear(); }

    size_t count() const
    {
        size_t n = 0;
        for (uint64_t w : m_words)
            n += static_cast<size_t>(__builtin_popcountll(w));
        return n;
    }
    bool empty() const
    {
        for (uint64_t w : m_words)
            if (w)
                return false;
        return true;
    }
    // One past the highest set id (0 when empty): the bitmap size a kernel call needs.
    uint32_t bound() const
    {
        for (size_t i = m_words.size(); i-- > 0;)
            if (m_words[i])
                return static_cast<uint32_t>(i * 64 + 64 - static_cast<size_t>(__builtin_clzll(m_words[i])));
        return 0;
    }

    std::vector<uint32_t> ids() const
    {
        std::vector<uint32_t> out;
        for (size_t i = 0; i < m_words.size(); ++i)
            for (uint64_t w = m_words[i]; w; w &= w - 1)
                out.push_back(static_cast<uint32_t>(i * 64 + static_cast<size_t>(__builtin_ctzll(w))));
        return out;
    }
    // Raw 64-bit words, lowest ids first (for mbind-style node masks).
    const std::vector<uint64_t>& words() const { return m_words; }

    IdSet& operator|=(const IdSet& o)
    {
        if (o.m_words.size() > m_words.size())
            m_words.resize(o.m_words.size(), 0);
        for (size_t i = 0; i < o.m_words.size(); ++i)
            m_words[i] |= o.m_words[i];
        return *this;
    }
    IdSet& operator&=(const IdSet& o)
    {
        for (size_t i = 0; i < m_words.size(); ++i)
            m_words[i] &= i < o.m_words.size() ? o.m_words[i] : 0;
        return *this;
    }
    IdSet& operator-=(const IdSet& o)
    {
        for (size_t i = 0; i < m_words.size() && i < o.m_words.size(); ++i)
            m_words[i] &= ~o.m_words[i];
        return *this;
    }
    friend IdSet operator|(IdSet a, const IdSet& b) { return a |= b; }
    friend IdSet operator&(IdSet a, const IdSet& b) { return a &= b; }
    friend IdSet operator-(IdSet a, const IdSet& b) { return a -= b; }

    // |this & o| without building the intersection.
    size_t count_common(const IdSet& o) const
    {
        size_t n = 0;
        for (size_t i = 0; i < m_words.size() && i < o.m_words.size(); ++i)
            n += static_cast<size_t>(__builtin_popcountll(m_words[i] & o.m_words[i]));
        return n;
    }
    bool intersects(const IdSet& o) const { return count_common(o) != 0; }
    bool is_subset_of(const IdSet& o) const { return (*this - o).empty(); }

    friend bool operator==(const IdSet& a, const IdSet& b)
    {
        size_t n = std::max(a.m_words.size(), b.m_words.size());
        for (size_t i = 0; i < n; ++i) {
            uint64_t x = i < a.m_words.size() ? a.m_words[i] : 0;
            uint64_t y = i < b.m_words.size() ? b.m_words[i] : 0;
            if (x != y)
                return false;
        }
        return true;
    }

    // Xen's compact list form: "0-3,6,8-9"; "" when empty.
    std::string to_string() const;

private:
    std::vector<uint64_t> m_words;
};

struct CpuTag { };
struct NodeTag { };
using CpuSet = IdSet<CpuTag>;
using NodeSet = IdSet<NodeTag>;

extern template class IdSet<CpuTag>;
extern template class IdSet<NodeTag>;

// Parses the kernel's list format as sysfs writes it ("0-3,8-11", "" or "\n" for none).
Result<std::vector<uint32_t>> parse_id_list(std::string_view text);

// Parses a CPU-set string in xl's grammar, as `xl vcpu-pin` and cpus=/cpus_soft= take it:
// comma-separated terms, each an optional "^" (exclude), an optional "node:"/"nodes:" prefix, then
// "all", "N" or "N-M". "^all" is refused; "nodes:all" means all. Errors give the 1-based column.
// Used for CLI arguments; the config parser produces the same CpuSetSpec from xl.cfg.
Result<config::CpuSetSpec> parse_cpuset_string(std::string_view text);

// The inverse, for messages and round trips: "0-3,^2,nodes:1".
std::string format_cpuset_spec(const config::CpuSetSpec& spec);

} // namespace xkvm::numa
