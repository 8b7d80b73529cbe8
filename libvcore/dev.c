// SPDX-License-Identifier: LGPL-2.1 OR MIT
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vcore.h"
#include "../uapi/vcore_abi_check.h"

#define VCORE_DEV_PATH "/dev/" VCORE_DEVICE_NAME

static void *map_region(int fd, __u64 offset, __u64 size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_SHARED, fd, (off_t)offset);

	return p == MAP_FAILED ? NULL : p;
}

int vcore_dev_open(struct vcore_dev *dev)
{
	int err;

	memset(dev, 0, sizeof(*dev));
	dev->fd = open(VCORE_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (dev->fd < 0)
		return -errno;
	dev->api.api = VCORE_API_VERSION;
	if (ioctl(dev->fd, VCORE_IOC_API, &dev->api))
		goto err_close;
	if (dev->api.vcpd_size < sizeof(struct vcore_preempt_data) ||
	    dev->api.procinfo_size < sizeof(struct vcore_procinfo)) {
		errno = EPROTO;
		goto err_close;
	}
	dev->kprocinfo = map_region(dev->fd, dev->api.procinfo_offset,
				    dev->api.procinfo_size, PROT_READ);
	if (!dev->kprocinfo)
		goto err_close;
	dev->procdata = map_region(dev->fd, dev->api.procdata_offset,
				   dev->api.procdata_size,
				   PROT_READ | PROT_WRITE);
	if (!dev->procdata)
		goto err_unmap_procinfo;
	return 0;

err_unmap_procinfo:
	err = errno;
	munmap((void *)dev->kprocinfo, dev->api.procinfo_size);
	errno = err;
err_close:
	err = errno;
	close(dev->fd);
	memset(dev, 0, sizeof(*dev));
	dev->fd = -1;
	return -err;
}

void vcore_dev_close(struct vcore_dev *dev)
{
	if (dev->procdata)
		munmap(dev->procdata, dev->api.procdata_size);
	if (dev->kprocinfo)
		munmap((void *)dev->kprocinfo, dev->api.procinfo_size);
	if (dev->fd >= 0)
		close(dev->fd);
	memset(dev, 0, sizeof(*dev));
	dev->fd = -1;
}

struct vcore_preempt_data *vcore_dev_vcpd(const struct vcore_dev *dev,
					  unsigned int vcoreid)
{
	if (vcoreid >= dev->api.max_vcores)
		return NULL;
	return (struct vcore_preempt_data *)((char *)dev->procdata +
					     dev->api.vcpd_offset +
					     (size_t)vcoreid *
					     dev->api.vcpd_size);
}

int vcore_dev_has_ioctl(const struct vcore_dev *dev, unsigned int nr)
{
	if (nr >= 128)
		return 0;
	return !!(dev->api.ioctls[nr / 64] & (1ULL << (nr % 64)));
}
