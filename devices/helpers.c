/* The helper table (see helpers.h). */
#include "devices/helpers.h"

#include "devices/vhost/proto.h"
#include "devices/vsock/proto.h"

const struct carapace_helper_desc carapace_helpers[CARAPACE_HELPER_COUNT] = {
	[CARAPACE_HELPER_BLK] = { "carapace-blk", "blk", &jail_policy_blk, "carapace_blk_t",
				  "--fd: connected vhost-user socket; --image-fd: the image, opened once by the runner (the file the launch policy judged)",
				  true, VIRTIO_ID_BLOCK },
	[CARAPACE_HELPER_RNG] = { "carapace-rng", "rng", &jail_policy_rng, "carapace_rng_t",
				  "--fd: connected vhost-user socket", true, VIRTIO_ID_RNG },
	[CARAPACE_HELPER_CONSOLE] = { "carapace-console", "console", &jail_policy_console, "carapace_console_t",
				      "--fd: connected vhost-user socket; the output file, pty or UNIX socket is opened by the helper before jailing",
				      true, VIRTIO_ID_CONSOLE },
	[CARAPACE_HELPER_NET] = { "carapace-net", "net", &jail_policy_net, "carapace_net_t",
				  "--fd: connected vhost-user socket; --tap-fd: the TAP device", false, VIRTIO_ID_NET },
	[CARAPACE_HELPER_VSOCK] = { "carapace-vsock", "vsock", &jail_policy_vsock, "carapace_vsock_t",
				    "--fd: connected vhost-user socket; the listening socket on uds_path, an O_PATH fd of its directory "
				    "and the epoll set are made by the helper before jailing",
				    true, VSOCK_DEVICE_ID },
};
