// The anchor source of xkvm_test_pch, whose precompiled header the test targets reuse (BuildTime.cmake).
