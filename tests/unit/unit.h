/* SPDX-License-Identifier: BSD-3-Clause */
/* What every unit test includes right after "config.h" (which must come
 * first: it sets the feature macros the C library reads): the C library
 * headers most tests use, then cmocka, which needs <stdarg.h>, <stddef.h>,
 * <stdint.h> and <setjmp.h> before it.  A test includes any other system
 * header it needs after this one. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
