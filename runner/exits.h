/* vCPU exit dispatch: one const table indexed by exit reason; an empty slot ends the VM. */
#ifndef CARAPACE_RUNNER_EXITS_H
#define CARAPACE_RUNNER_EXITS_H

#include "runner/vm.h"

enum exit_action { EXIT_CONTINUE, EXIT_STOP };

/* Handle the exit in vcpu->run; returns whether the vCPU keeps running. */
enum exit_action exits_dispatch(struct vcpu *vcpu);
const char *exits_reason_name(unsigned reason);

#endif
