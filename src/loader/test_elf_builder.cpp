#include "loader/test_elf_builder.h"

#include <elf.h>

#include "xen/abi/elfnote.h"

namespace xkvm::loader::test {

namespace {

size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

void append(std::vector<uint8_t>& out, const void* p, size_t n)
{
    auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
}

struct Phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

struct Shdr {
    uint32_t name, type;
    uint64_t offset, size, align;
};

template<typename Ehdr, typename P, typename S>
std::vector<uint8_t> emit(const Ehdr& eh_in, const std::vector<Phdr>& phdrs, const std::vector<Shdr>& shdrs,
                          std::vector<uint8_t> body)
{
    Ehdr eh = eh_in;
    eh.e_phoff = sizeof(Ehdr);
    eh.e_phentsize = sizeof(P);
    eh.e_phnum = static_cast<uint16_t>(phdrs.size());
    std::vector<uint8_t> head;
    for (const auto& p : phdrs) {
        P ph {};
        ph.p_type = p.type;
        ph.p_flags = p.flags;
        ph.p_offset = static_cast<decltype(ph.p_offset)>(p.offset);
        ph.p_vaddr = static_cast<decltype(ph.p_vaddr)>(p.vaddr);
        ph.p_paddr = static_cast<decltype(ph.p_paddr)>(p.paddr);
        ph.p_filesz = static_cast<decltype(ph.p_filesz)>(p.filesz);
        ph.p_memsz = static_cast<decltype(ph.p_memsz)>(p.memsz);
        ph.p_align = static_cast<decltype(ph.p_align)>(p.align);
        append(head, &ph, sizeof(ph));
    }
    if (!shdrs.empty()) {
        body.resize(align_up(body.size(), 8));
        eh.e_shoff = body.size();
        eh.e_shentsize = sizeof(S);
        eh.e_shnum = static_cast<uint16_t>(shdrs.size());
        eh.e_shstrndx = static_cast<uint16_t>(shdrs.size() - 1);
        for (const auto& s : shdrs) {
            S sh {};
            sh.sh_name = s.name;
            sh.sh_type = s.type;
            sh.sh_offset = static_cast<decltype(sh.sh_offset)>(s.offset);
            sh.sh_size = static_cast<decltype(sh.sh_size)>(s.size);
            sh.sh_addralign = static_cast<decltype(sh.sh_addralign)>(s.align);
            append(body, &sh, sizeof(sh));
        }
    }
    std::memcpy(body.data(), &eh, sizeof(eh));
    if (!head.empty()) // memcpy from an empty vector's null data() is undefined
        std::memcpy(body.data() + sizeof(eh), head.data(), head.size());
    return body;
}

template<typename Ehdr>
Ehdr make_ehdr(uint8_t cls, uint16_t type, uint16_t machine, uint64_t entry)
{
    Ehdr eh {};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = cls;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = type;
    eh.e_machine = machine;
    eh.e_version = EV_CURRENT;
    eh.e_entry = static_cast<decltype(eh.e_entry)>(entry);
    eh.e_ehsize = sizeof(Ehdr);
    return eh;
}

} // namespace

std::vector<uint8_t> pattern(size_t n, uint8_t seed)
{
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; i++)
        v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
    return v;
}

TestSegment make_segment(uint32_t type, uint64_t paddr, std::vector<uint8_t> bytes, uint64_t mem_size,
                         std::optional<uint64_t> offset, std::optional<uint64_t> filesz)
{
    TestSegment s;
    s.type = type;
    s.paddr = s.vaddr = paddr;
    s.bytes = std::move(bytes);
    s.mem_size = mem_size;
    s.offset_override = offset;
    s.filesize_override = filesz;
    return s;
}

ElfBuilder::ElfBuilder(ElfClass cls) : m_class(cls), m_machine(cls == ElfClass::Elf32 ? EM_386 : EM_X86_64) { }

ElfBuilder& ElfBuilder::segment(uint64_t paddr, std::vector<uint8_t> bytes, uint64_t mem_size)
{
    TestSegment s;
    s.paddr = paddr;
    s.vaddr = paddr;
    s.mem_size = mem_size ? mem_size : bytes.size();
    s.bytes = std::move(bytes);
    m_segments.push_back(std::move(s));
    return *this;
}

ElfBuilder& ElfBuilder::note(uint32_t type, std::vector<uint8_t> desc, std::string name)
{
    m_notes.push_back({ std::move(name), type, std::move(desc) });
    return *this;
}

ElfBuilder& ElfBuilder::string_note(uint32_t type, const std::string& s)
{
    std::vector<uint8_t> desc(s.begin(), s.end());
    desc.push_back(0);
    return note(type, std::move(desc));
}

ElfBuilder& ElfBuilder::phys32_entry(uint64_t entry, size_t desc_bytes)
{
    std::vector<uint8_t> desc(desc_bytes);
    for (size_t i = 0; i < desc_bytes && i < 8; i++)
        desc[i] = static_cast<uint8_t>(entry >> (8 * i));
    return note(XEN_ELFNOTE_PHYS32_ENTRY, std::move(desc));
}

std::vector<uint8_t> ElfBuilder::note_bytes() const
{
    std::vector<uint8_t> out;
    for (const auto& n : m_notes) {
        uint32_t hdr[3] = { static_cast<uint32_t>(n.name.size() + 1), static_cast<uint32_t>(n.desc.size()), n.type };
        append(out, hdr, sizeof(hdr));
        append(out, n.name.c_str(), n.name.size() + 1);
        out.resize(align_up(out.size(), 4));
        append(out, n.desc.data(), n.desc.size());
        out.resize(align_up(out.size(), 4));
    }
    return out;
}

std::vector<uint8_t> ElfBuilder::build() const
{
    bool is32 = m_class == ElfClass::Elf32;
    bool note_seg = !m_notes.empty() && m_note_place != NotePlace::Section;
    bool note_sec = !m_notes.empty() && m_note_place != NotePlace::Segment;
    size_t nphdr = m_segments.size() + (note_seg ? 1 : 0);
    size_t header = (is32 ? sizeof(Elf32_Ehdr) : sizeof(Elf64_Ehdr)) + nphdr * (is32 ? sizeof(Elf32_Phdr) : sizeof(Elf64_Phdr));
    std::vector<uint8_t> body(header, 0);

    std::vector<Phdr> phdrs;
    for (const auto& s : m_segments) {
        body.resize(align_up(body.size(), 16));
        uint64_t offset = body.size();
        append(body, s.bytes.data(), s.bytes.size());
        phdrs.push_back({ s.type, s.flags, s.offset_override.value_or(offset), s.vaddr, s.paddr,
                          s.filesize_override.value_or(s.bytes.size()), s.mem_size, 16 });
    }
    std::vector<Shdr> shdrs;
    if (!m_notes.empty()) {
        auto notes = note_bytes();
        body.resize(align_up(body.size(), 4));
        uint64_t offset = body.size();
        append(body, notes.data(), notes.size());
        if (note_seg)
            phdrs.push_back({ PT_NOTE, PF_R, offset, 0, 0, notes.size(), notes.size(), 4 });
        if (note_sec) {
            static const char strtab[] = "\0.note.Xen\0.shstrtab"; // names at 1 and 11
            uint64_t str_off = body.size();
            append(body, strtab, sizeof(strtab));
            shdrs.push_back({ 0, SHT_NULL, 0, 0, 0 });
            shdrs.push_back({ 1, SHT_NOTE, offset, notes.size(), 4 });
            shdrs.push_back({ 11, SHT_STRTAB, str_off, sizeof(strtab), 1 });
        }
    }
    if (is32)
        return emit<Elf32_Ehdr, Elf32_Phdr, Elf32_Shdr>(make_ehdr<Elf32_Ehdr>(ELFCLASS32, m_type, m_machine, m_entry),
                                                        phdrs, shdrs, std::move(body));
    return emit<Elf64_Ehdr, Elf64_Phdr, Elf64_Shdr>(make_ehdr<Elf64_Ehdr>(ELFCLASS64, m_type, m_machine, m_entry),
                                                    phdrs, shdrs, std::move(body));
}

} // namespace xkvm::loader::test
