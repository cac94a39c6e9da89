/* The strict double behind carapace's struct kvm_ops: the one place where the double (which
 * includes nothing from runner/) meets carapace's kernel interface. */
#ifndef CARAPACE_TESTS_UNIT_CC_KD_OPS_H
#define CARAPACE_TESTS_UNIT_CC_KD_OPS_H

#include "runner/kvm_ops.h"
#include "tests/double/kvm_double.h"

/* ctx for every call is the struct kvm_double. */
extern const struct kvm_ops kd_ops;

#endif
