# rdm: the host's DMAR table is firmware input; the parser, scope resolution and the layout built from
# whatever it yields must never crash.
xkvm_fuzz_target(dmar_fuzz SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/dmar_fuzz.cpp LIBS xkvm_rdm)
# The corpus replay is also one of the toolstack issue's tests (ctest -L toolstack).
set_tests_properties(dmar_fuzz_corpus PROPERTIES LABELS "fuzz;toolstack")
