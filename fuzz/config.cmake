# xl.cfg parser, spec strings, domain-config builder and its JSON round trip.
xkvm_fuzz_target(config_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/config_fuzz.cpp LIBS xkvm_config)
