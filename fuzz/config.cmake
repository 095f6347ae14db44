# xl.cfg parser, spec strings, domain-config builder and its JSON round trip.
xkvm_fuzz_target(config_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/config_fuzz.cpp LIBS xkvm_config)
# The corpus replay is also one of the toolstack issue's tests (ctest -L toolstack).
set_tests_properties(config_fuzz_corpus PROPERTIES LABELS "fuzz;toolstack")
