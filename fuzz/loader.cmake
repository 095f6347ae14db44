# Guest loader: the ELF parser sees user-supplied kernel and firmware files.
xkvm_fuzz_target(elf_fuzz SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/elf_fuzz.cpp LIBS xkvm_loader)
