// Test helper: synthesises small x86 ELF executables (32- or 64-bit) with PT_LOAD segments, bss, and
// Xen notes in a PT_NOTE segment and/or an SHT_NOTE section. Fields can be overridden to build
// malformed files.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "loader/elf_image.h"

namespace xkvm::loader::test {

struct TestSegment {
    uint32_t type = 1; // PT_LOAD
    uint64_t paddr = 0;
    uint64_t vaddr = 0;
    std::vector<uint8_t> bytes;
    uint64_t mem_size = 0; // p_memsz (may be below bytes.size() to build a bad file)
    uint32_t flags = 5;    // PF_R | PF_X
    std::optional<uint64_t> offset_override;   // p_offset
    std::optional<uint64_t> filesize_override; // p_filesz
};

TestSegment make_segment(uint32_t type, uint64_t paddr, std::vector<uint8_t> bytes, uint64_t mem_size,
                         std::optional<uint64_t> offset = std::nullopt, std::optional<uint64_t> filesz = std::nullopt);

enum class NotePlace { Segment, Section, Both };

class ElfBuilder {
public:
    explicit ElfBuilder(ElfClass cls);

    ElfBuilder& entry(uint64_t e) { m_entry = e; return *this; }
    ElfBuilder& machine(uint16_t m) { m_machine = m; return *this; }
    ElfBuilder& type(uint16_t t) { m_type = t; return *this; }
    // A PT_LOAD at `paddr` holding `bytes`, with mem_size bytes in memory (0: bytes.size()).
    ElfBuilder& segment(uint64_t paddr, std::vector<uint8_t> bytes, uint64_t mem_size = 0);
    ElfBuilder& raw_segment(TestSegment s) { m_segments.push_back(std::move(s)); return *this; }
    ElfBuilder& note(uint32_t type, std::vector<uint8_t> desc, std::string name = "Xen");
    ElfBuilder& string_note(uint32_t type, const std::string& s);
    // XEN_ELFNOTE_PHYS32_ENTRY with a `desc_bytes`-wide little-endian descriptor.
    ElfBuilder& phys32_entry(uint64_t entry, size_t desc_bytes = 4);
    ElfBuilder& notes_in(NotePlace place) { m_note_place = place; return *this; }

    // Program headers: the segments in order, then the PT_NOTE (if any).
    std::vector<uint8_t> build() const;

private:
    std::vector<uint8_t> note_bytes() const;

    ElfClass m_class;
    uint16_t m_machine;
    uint16_t m_type = 2; // ET_EXEC
    uint64_t m_entry = 0;
    std::vector<TestSegment> m_segments;
    struct Note {
        std::string name;
        uint32_t type;
        std::vector<uint8_t> desc;
    };
    std::vector<Note> m_notes;
    NotePlace m_note_place = NotePlace::Segment;
};

// `n` bytes of a recognisable pattern starting at `seed`.
std::vector<uint8_t> pattern(size_t n, uint8_t seed);

template<typename T>
void poke(std::vector<uint8_t>& file, size_t offset, T value)
{
    std::memcpy(file.data() + offset, &value, sizeof(T));
}

} // namespace xkvm::loader::test
