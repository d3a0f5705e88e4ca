// Declares which IEC 62443 requirements a test proves. The IDs land in the JUnit XML as the
// test's "requirements" property, where the evidence report (docs/compliance/) picks them up.
#pragma once

#include <gtest/gtest.h>

#define IRONSEAL_REQUIREMENTS(ids) ::testing::Test::RecordProperty("requirements", ids)
