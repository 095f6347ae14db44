#include "toolstack/daemon/domain_table.h"

#include <charconv>

namespace xkvm::toolstack {

std::string_view state_name(DomainState s)
{
    switch (s) {
    case DomainState::Creating: return "creating";
    case DomainState::Running: return "running";
    case DomainState::Shutdown: return "shutdown";
    }
    return "unknown";
}

std::string uuid_string(const std::array<uint8_t, 16>& u)
{
    std::string s;
    for (size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            s += '-';
        s += fmt::format("{:02x}", u[i]);
    }
    return s;
}

Result<DomainRecord*> DomainTable::add(const std::string& name)
{
    if (find_name(name))
        return fail(EEXIST, "a domain called '{}' already exists", name);
    for (uint32_t tries = 0; tries < kDomidLimit; ++tries) {
        uint32_t id = m_next;
        m_next = m_next + 1 >= kDomidLimit ? kFirstDomid : m_next + 1;
        if (m_domains.count(id))
            continue;
        auto rec = std::make_unique<DomainRecord>();
        rec->domid = id;
        rec->name = name;
        auto* p = rec.get();
        m_domains.emplace(id, std::move(rec));
        m_names.emplace(name, id);
        return p;
    }
    return fail(ENOSPC, "no domain id left ({} domains exist)", m_domains.size());
}

Result<DomainRecord*> DomainTable::adopt(DomainRecord rec)
{
    if (rec.domid < kFirstDomid || rec.domid >= kDomidLimit)
        return fail(EINVAL, "domain id {} is outside {}..{}", rec.domid, kFirstDomid, kDomidLimit - 1);
    if (m_domains.count(rec.domid))
        return fail(EEXIST, "domain {} exists already", rec.domid);
    if (find_name(rec.name))
        return fail(EEXIST, "a domain called '{}' already exists", rec.name);
    uint32_t id = rec.domid;
    auto owned = std::make_unique<DomainRecord>(std::move(rec));
    auto* p = owned.get();
    m_names.emplace(p->name, id);
    m_domains.emplace(id, std::move(owned));
    skip_past(id);
    return p;
}

void DomainTable::skip_past(uint32_t domid)
{
    // Ids are handed out in a circle from m_next: only move forward, never back over live ids.
    if (domid >= m_next && domid + 1 < kDomidLimit)
        m_next = domid + 1;
}

Status DomainTable::rename(uint32_t domid, const std::string& name)
{
    auto* rec = find(domid);
    if (!rec)
        return fail(ENOENT, "domain {} does not exist", domid);
    if (auto* other = find_name(name); other && other != rec)
        return fail(EEXIST, "a domain called '{}' already exists", name);
    m_names.erase(rec->name);
    rec->name = name;
    m_names.emplace(name, domid);
    return {};
}

void DomainTable::remove(uint32_t domid)
{
    if (auto* rec = find(domid))
        m_names.erase(rec->name);
    m_domains.erase(domid);
}

DomainRecord* DomainTable::find(uint32_t domid)
{
    auto it = m_domains.find(domid);
    return it == m_domains.end() ? nullptr : it->second.get();
}

DomainRecord* DomainTable::find_name(std::string_view name)
{
    auto it = m_names.find(name);
    return it == m_names.end() ? nullptr : find(it->second);
}

Result<DomainRecord*> DomainTable::lookup(std::string_view what)
{
    if (what.empty())
        return fail(EINVAL, "no domain given");
    uint32_t id = 0;
    auto [end, ec] = std::from_chars(what.data(), what.data() + what.size(), id);
    if (ec == std::errc() && end == what.data() + what.size()) {
        if (id == 0)
            return fail(EPERM, "domain 0 is the host (Domain-0); xkvm does not manage it");
        if (auto* rec = find(id))
            return rec;
        return fail(ENOENT, "domain {} does not exist", id);
    }
    if (auto* rec = find_name(what))
        return rec;
    return fail(ENOENT, "domain '{}' does not exist", what);
}

std::vector<DomainRecord*> DomainTable::all()
{
    std::vector<DomainRecord*> out;
    for (auto& [id, rec] : m_domains)
        out.push_back(rec.get());
    return out;
}

} // namespace xkvm::toolstack
