// Force-included into every C++ file of the fuzz build (IRONSEAL_FUZZ, clang 16; see the top
// CMakeLists.txt and docs/decisions.md). libstdc++ 12 only defines std::expected when
// __cpp_concepts >= 202002L; clang 16 implements what <expected> needs (P0848, conditionally
// trivial special members) but still reports 201907L. This header raises the macro for the one
// include of <expected>, then restores clang's own value, so nothing else sees the change.
#pragma once
#if defined(__clang__) && __clang_major__ >= 16 && __cpp_concepts < 202002L
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wbuiltin-macro-redefined"
#pragma push_macro("__cpp_concepts")
#undef __cpp_concepts
#define __cpp_concepts 202002L
#include <expected>
#pragma pop_macro("__cpp_concepts")
#pragma clang diagnostic pop
#endif
