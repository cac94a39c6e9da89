/* The runner's size limits, in one place: every array and every range check uses these names.
 * Values are today's; raising one is a one-line change here (and a look at what it sizes). */
#ifndef CARAPACE_RUNNER_RUN_LIMITS_H
#define CARAPACE_RUNNER_RUN_LIMITS_H

/* vCPUs of a plain VM: APIC IDs are 8 bits, 255 is the broadcast ID, and the MP table
 * (runner/mptable.c) gives the IOAPIC the ID after the last vCPU's. */
#define RUN_MAX_VCPUS 254
/* vCPUs of a confidential VM (runner/cc): each one's VMSA / TD vCPU state is part of the launch
 * plan and measured, and the launch keeps a fixed array of their fds and kvm_run areas. */
#define RUN_MAX_CC_VCPUS 64
/* virtio devices, each a jailed helper: the one limit. Every list of devices follows it: one
 * virtio-mmio window (runner/layout.h GP_VIRTIO_MMIO) and one GSI each (runner/vdev.c
 * vdev_gsis[]: 5, 6, 7, 9-13, then IOAPIC pins 16-23, all 24 pins in the MP table), the DSDT
 * (memenc/acpi.h ACPI_MAX_DEVICES, asserted equal in runner/vdev.c), --device options
 * (runner/config.h) and the management API's devices (runner/api). 16: Kata's Firecracker
 * driver attaches a root drive, 8 placeholder drives, a network interface, vsock and entropy. */
#define RUN_MAX_DEVICES 16
/* The size of a device's virtqueues is a fact of its kind: devices/devkinds.c, queue_size. */

#endif
