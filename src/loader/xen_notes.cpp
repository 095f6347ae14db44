#include "loader/xen_notes.h"

#include <cerrno>

#include "xen/abi/elfnote.h"

namespace xkvm::loader {

namespace {

// Little-endian unsigned integer of 1, 2, 4 or 8 bytes; nullopt for other sizes.
std::optional<uint64_t> note_number(std::span<const uint8_t> desc)
{
    if (desc.size() != 1 && desc.size() != 2 && desc.size() != 4 && desc.size() != 8)
        return std::nullopt;
    uint64_t v = 0;
    for (size_t i = desc.size(); i-- > 0;)
        v = (v << 8) | desc[i];
    return v;
}

std::string note_string(std::span<const uint8_t> desc)
{
    std::string s;
    for (uint8_t c : desc) {
        if (c == 0 || s.size() == kMaxNoteString)
            break;
        s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
    }
    return s;
}

Status record_phys32_entry(XenNotes& notes, std::span<const uint8_t> desc)
{
    if (desc.size() != 4 && desc.size() != 8)
        return fail(ENOEXEC, "XEN_ELFNOTE_PHYS32_ENTRY note has a {}-byte descriptor (expected 4 or 8)",
                    desc.size());
    uint64_t v = *note_number(desc);
    if (v > UINT32_MAX)
        return fail(ENOEXEC, "XEN_ELFNOTE_PHYS32_ENTRY {:#x} is not a 32-bit address", v);
    if (notes.phys32_entry && *notes.phys32_entry != v)
        return fail(ENOEXEC, "conflicting XEN_ELFNOTE_PHYS32_ENTRY notes ({:#x} and {:#x})",
                    *notes.phys32_entry, v);
    notes.phys32_entry = static_cast<uint32_t>(v);
    return {};
}

} // namespace

Status record_xen_note(XenNotes& notes, uint32_t type, std::span<const uint8_t> desc)
{
    notes.count++;
    auto number = [&](std::optional<uint64_t>& field) {
        if (auto v = note_number(desc))
            field = *v;
    };
    switch (type) {
    case XEN_ELFNOTE_PHYS32_ENTRY:
        return record_phys32_entry(notes, desc);
    case XEN_ELFNOTE_ENTRY:
        number(notes.entry);
        break;
    case XEN_ELFNOTE_HYPERCALL_PAGE:
        number(notes.hypercall_page);
        break;
    case XEN_ELFNOTE_VIRT_BASE:
        number(notes.virt_base);
        break;
    case XEN_ELFNOTE_PADDR_OFFSET:
        number(notes.paddr_offset);
        break;
    case XEN_ELFNOTE_SUPPORTED_FEATURES:
        if (desc.size() == 4)
            notes.supported_features = static_cast<uint32_t>(*note_number(desc));
        break;
    case XEN_ELFNOTE_GUEST_OS:
        notes.guest_os = note_string(desc);
        break;
    case XEN_ELFNOTE_GUEST_VERSION:
        notes.guest_version = note_string(desc);
        break;
    case XEN_ELFNOTE_XEN_VERSION:
        notes.xen_version = note_string(desc);
        break;
    case XEN_ELFNOTE_LOADER:
        notes.loader = note_string(desc);
        break;
    case XEN_ELFNOTE_FEATURES:
        notes.features = note_string(desc);
        break;
    default:
        break;
    }
    return {};
}

std::string XenNotes::summary() const
{
    std::string out = fmt::format("{} Xen notes", count);
    auto str = [&](const char* name, const std::string& v) {
        if (!v.empty())
            out += fmt::format(" {}={}", name, v);
    };
    auto num = [&](const char* name, const auto& v) {
        if (v)
            out += fmt::format(" {}={:#x}", name, *v);
    };
    str("guest_os", guest_os);
    str("guest_version", guest_version);
    str("xen_version", xen_version);
    str("loader", loader);
    str("features", features);
    num("phys32_entry", phys32_entry);
    num("entry", entry);
    num("hypercall_page", hypercall_page);
    num("virt_base", virt_base);
    num("paddr_offset", paddr_offset);
    num("supported_features", supported_features);
    return out;
}

} // namespace xkvm::loader
