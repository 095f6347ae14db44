# irqchip: LAPIC, IOAPIC, PIC and MSI decoding under a program of guest register accesses and lines.
xkvm_fuzz_target(irqchip_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/irqchip_fuzz.cpp LIBS xkvm_irqchip)
set_tests_properties(irqchip_fuzz_corpus PROPERTIES LABELS "fuzz;emu")
