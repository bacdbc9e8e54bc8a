//===- DataObject.cpp - Constant data as a relocatable object ---*- C++ -*-===//
//
// The object is written directly, not through LLVM's code generator: a
// model's weights are hundreds of megabytes, and a global initializer of
// that size costs LLVM several copies of it (uniquing, the assembler's
// fragments) before one byte reaches the file. Here the bytes go from the
// constants to the file once.
//
// Layout of the ELF64 relocatable object:
//   .text       one accessor per blob, `const void *symbol(void)`, that
//               returns the blob's address position-independently;
//   .rela.text  their relocations against the .rodata section symbol;
//   .rodata     the blobs, each aligned to 64 bytes;
//   .symtab, .strtab, .shstrtab, and an empty .note.GNU-stack (the object
//   needs no executable stack).
//
//===----------------------------------------------------------------------===//

#include "attnc/Target/DataObject.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/SwapByteOrder.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace llvm;

namespace {

/// How one architecture returns the address of `.rodata + offset`.
struct Accessor {
  uint16_t machine;
  /// Bytes of one accessor (padded to a multiple of 16 by `size`).
  std::vector<uint8_t> code;
  /// The relocations of one accessor: offset in it and type.
  std::vector<std::pair<uint64_t, uint32_t>> relocations;
  /// Added to the blob's offset in each relocation's addend.
  int64_t addendBias;

  uint64_t size() const { return (code.size() + 15) / 16 * 16; }
};

std::optional<Accessor> accessorFor(StringRef triple) {
  if (triple.starts_with("x86_64"))
    // lea rax, [rip + disp32]; ret. The displacement is relative to the
    // end of the instruction, 4 bytes past the relocated field.
    return Accessor{ELF::EM_X86_64,
                    {0x48, 0x8d, 0x05, 0, 0, 0, 0, 0xc3},
                    {{3, ELF::R_X86_64_PC32}},
                    -4};
  if (triple.starts_with("aarch64"))
    // adrp x0, page; add x0, x0, #pageoffset; ret.
    return Accessor{ELF::EM_AARCH64,
                    {0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x91, 0xc0, 0x03,
                     0x5f, 0xd6},
                    {{0, ELF::R_AARCH64_ADR_PREL_PG_HI21},
                     {4, ELF::R_AARCH64_ADD_ABS_LO12_NC}},
                    0};
  return std::nullopt;
}

uint64_t alignTo64(uint64_t x) { return (x + 63) / 64 * 64; }

/// A string table under construction.
struct StringTable {
  std::string bytes = std::string(1, '\0');
  uint32_t add(StringRef s) {
    uint32_t at = bytes.size();
    bytes.append(s.begin(), s.end());
    bytes.push_back('\0');
    return at;
  }
};

template <typename T> void writeStruct(raw_ostream &os, const T &value) {
  os.write(reinterpret_cast<const char *>(&value), sizeof(T));
}

void pad(raw_ostream &os, uint64_t &at, uint64_t to) {
  static const char zeros[64] = {};
  while (at < to) {
    uint64_t n = std::min<uint64_t>(to - at, sizeof(zeros));
    os.write(zeros, n);
    at += n;
  }
}

} // namespace

std::string mlir::attn::writeDataObject(StringRef triple,
                                        ArrayRef<DataBlob> blobs,
                                        StringRef path) {
  if (!sys::IsLittleEndianHost)
    return "constant data objects are written on little-endian hosts only";
  std::optional<Accessor> accessor = accessorFor(triple);
  if (!accessor)
    return "no data object writer for " + triple.str();

  // Sections, in file order after the header.
  enum Section : uint16_t {
    Null,
    Text,
    RelaText,
    Rodata,
    Symtab,
    Strtab,
    Shstrtab,
    NoteStack,
    NumSections
  };
  StringTable names;
  uint32_t sectionName[NumSections] = {0,
                                       names.add(".text"),
                                       names.add(".rela.text"),
                                       names.add(".rodata"),
                                       names.add(".symtab"),
                                       names.add(".strtab"),
                                       names.add(".shstrtab"),
                                       names.add(".note.GNU-stack")};

  // The blobs' offsets in .rodata, the accessors' code and relocations.
  std::vector<uint64_t> offsets;
  uint64_t rodataSize = 0;
  for (const DataBlob &blob : blobs) {
    rodataSize = alignTo64(rodataSize);
    offsets.push_back(rodataSize);
    rodataSize += blob.bytes.size();
  }
  std::string text;
  std::vector<ELF::Elf64_Rela> relocations;
  StringTable symbolNames;
  // Symbol 0 is null, 1 the .rodata section; the accessors follow.
  std::vector<ELF::Elf64_Sym> symbols(2);
  std::memset(symbols.data(), 0, symbols.size() * sizeof(ELF::Elf64_Sym));
  symbols[1].setBindingAndType(ELF::STB_LOCAL, ELF::STT_SECTION);
  symbols[1].st_shndx = Rodata;
  for (auto [i, blob] : llvm::enumerate(blobs)) {
    uint64_t at = text.size();
    text.append(accessor->code.begin(), accessor->code.end());
    text.resize(at + accessor->size(), '\0');
    for (auto [offset, type] : accessor->relocations) {
      ELF::Elf64_Rela r;
      r.r_offset = at + offset;
      r.setSymbolAndType(1, type);
      r.r_addend = static_cast<int64_t>(offsets[i]) + accessor->addendBias;
      relocations.push_back(r);
    }
    ELF::Elf64_Sym s;
    std::memset(&s, 0, sizeof(s));
    s.st_name = symbolNames.add(blob.symbol);
    s.setBindingAndType(ELF::STB_GLOBAL, ELF::STT_FUNC);
    s.st_other = ELF::STV_HIDDEN;
    s.st_shndx = Text;
    s.st_value = at;
    s.st_size = accessor->code.size();
    symbols.push_back(s);
  }

  // File offsets.
  uint64_t textOffset = alignTo64(sizeof(ELF::Elf64_Ehdr));
  uint64_t relaOffset = alignTo64(textOffset + text.size());
  uint64_t rodataOffset =
      alignTo64(relaOffset + relocations.size() * sizeof(ELF::Elf64_Rela));
  uint64_t symtabOffset = alignTo64(rodataOffset + rodataSize);
  uint64_t strtabOffset =
      symtabOffset + symbols.size() * sizeof(ELF::Elf64_Sym);
  uint64_t shstrtabOffset = strtabOffset + symbolNames.bytes.size();
  uint64_t headersOffset = alignTo64(shstrtabOffset + names.bytes.size());

  ELF::Elf64_Shdr sections[NumSections];
  std::memset(sections, 0, sizeof(sections));
  auto section = [&](Section s, uint32_t type, uint64_t flags, uint64_t offset,
                     uint64_t size, uint64_t align) {
    sections[s].sh_name = sectionName[s];
    sections[s].sh_type = type;
    sections[s].sh_flags = flags;
    sections[s].sh_offset = offset;
    sections[s].sh_size = size;
    sections[s].sh_addralign = align;
  };
  section(Text, ELF::SHT_PROGBITS, ELF::SHF_ALLOC | ELF::SHF_EXECINSTR,
          textOffset, text.size(), 16);
  section(RelaText, ELF::SHT_RELA, ELF::SHF_INFO_LINK, relaOffset,
          relocations.size() * sizeof(ELF::Elf64_Rela), 8);
  sections[RelaText].sh_link = Symtab;
  sections[RelaText].sh_info = Text;
  sections[RelaText].sh_entsize = sizeof(ELF::Elf64_Rela);
  section(Rodata, ELF::SHT_PROGBITS, ELF::SHF_ALLOC, rodataOffset, rodataSize,
          64);
  section(Symtab, ELF::SHT_SYMTAB, 0, symtabOffset,
          symbols.size() * sizeof(ELF::Elf64_Sym), 8);
  sections[Symtab].sh_link = Strtab;
  sections[Symtab].sh_info = 2; // the first global symbol
  sections[Symtab].sh_entsize = sizeof(ELF::Elf64_Sym);
  section(Strtab, ELF::SHT_STRTAB, 0, strtabOffset, symbolNames.bytes.size(),
          1);
  section(Shstrtab, ELF::SHT_STRTAB, 0, shstrtabOffset, names.bytes.size(), 1);
  section(NoteStack, ELF::SHT_PROGBITS, 0, headersOffset, 0, 1);

  ELF::Elf64_Ehdr header;
  std::memset(&header, 0, sizeof(header));
  std::memcpy(header.e_ident, ELF::ElfMagic, 4);
  header.e_ident[ELF::EI_CLASS] = ELF::ELFCLASS64;
  header.e_ident[ELF::EI_DATA] = ELF::ELFDATA2LSB;
  header.e_ident[ELF::EI_VERSION] = ELF::EV_CURRENT;
  header.e_ident[ELF::EI_OSABI] = ELF::ELFOSABI_NONE;
  header.e_type = ELF::ET_REL;
  header.e_machine = accessor->machine;
  header.e_version = ELF::EV_CURRENT;
  header.e_shoff = headersOffset;
  header.e_ehsize = sizeof(ELF::Elf64_Ehdr);
  header.e_shentsize = sizeof(ELF::Elf64_Shdr);
  header.e_shnum = NumSections;
  header.e_shstrndx = Shstrtab;

  std::error_code ec;
  raw_fd_ostream os(path, ec, sys::fs::OF_None);
  if (ec)
    return "cannot write '" + path.str() + "': " + ec.message();
  uint64_t at = 0;
  writeStruct(os, header);
  at += sizeof(header);
  pad(os, at, textOffset);
  os << text;
  at += text.size();
  pad(os, at, relaOffset);
  for (const ELF::Elf64_Rela &r : relocations)
    writeStruct(os, r);
  at += relocations.size() * sizeof(ELF::Elf64_Rela);
  for (auto [i, blob] : llvm::enumerate(blobs)) {
    pad(os, at, rodataOffset + offsets[i]);
    os.write(blob.bytes.data(), blob.bytes.size());
    at += blob.bytes.size();
  }
  pad(os, at, symtabOffset);
  for (const ELF::Elf64_Sym &s : symbols)
    writeStruct(os, s);
  os << symbolNames.bytes << names.bytes;
  at = shstrtabOffset + names.bytes.size();
  pad(os, at, headersOffset);
  for (const ELF::Elf64_Shdr &s : sections)
    writeStruct(os, s);
  os.flush();
  if (os.has_error())
    return "cannot write '" + path.str() + "'";
  return "";
}
