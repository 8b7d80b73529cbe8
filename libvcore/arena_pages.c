// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The arena's page layer, backed by /dev/vcore.
 *
 * VCORE_IOC_SETUP sizes the arena; one MAP_SHARED mapping of all of it
 * follows, and stays for the life of the process: the kernel records the
 * address of that mapping and translates every arena address user space
 * gives it against it.  Pages are then allocated and freed by the kernel,
 * which owns the page map because its UCQ producer takes pages too.
 *
 * Unit tests replace this file with the same four functions over the
 * core's page map in user space (tools/testing/core/lib/kernel_side.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "arena.h"
#include "internal.h"

/* The UCQ index keeps a flip count above bit 47 (ucq.c). */
#define ARENA_ADDR_LIMIT	(1ULL << 48)

/*
 * Written once, under setup_lock, before base is published with a release
 * store; readers load base with acquire and may then read the rest.
 */
static struct {
	pthread_mutex_t setup_lock;
	int fd;
	size_t size;
	char *base;
} arena = {
	.setup_lock = PTHREAD_MUTEX_INITIALIZER,
	.fd = -1,
};

/*
 * A fork()ed child has none of the parent's device mappings (the module
 * maps them VM_DONTCOPY): it starts without an arena, and may open the
 * device and set up one of its own.
 */
static void arena_forget(void)
{
	pthread_mutex_init(&arena.setup_lock, NULL);
	arena.fd = -1;
	arena.size = 0;
	arena.base = NULL;
	vcore_arena_slabs_forget();
}

static void arena_atfork_register(void)
{
	pthread_atfork(NULL, NULL, arena_forget);
}

static pthread_once_t arena_atfork_once = PTHREAD_ONCE_INIT;

static char *arena_base(void)
{
	return smp_load_acquire(&arena.base);
}

int vcore_arena_setup(struct vcore_dev *dev, size_t size)
{
	struct vcore_setup setup = { .arena_size = size };
	void *p;
	int err;

	if (!size || size & VCORE_PAGE_MASK || size > dev->api.arena_max_size)
		return -EINVAL;
	if (!vcore_dev_has_ioctl(dev, VCORE_IOC_NR_SETUP) ||
	    !vcore_dev_has_ioctl(dev, VCORE_IOC_NR_ARENA_ALLOC) ||
	    !vcore_dev_has_ioctl(dev, VCORE_IOC_NR_ARENA_FREE))
		return -EOPNOTSUPP;

	pthread_once(&arena_atfork_once, arena_atfork_register);
	pthread_mutex_lock(&arena.setup_lock);
	err = -EBUSY;
	if (arena.base)
		goto out_unlock;
	if (ioctl(dev->fd, VCORE_IOC_SETUP, &setup)) {
		err = -errno;
		goto out_unlock;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dev->fd,
		 (off_t)dev->api.arena_offset);
	if (p == MAP_FAILED) {
		err = -errno;
		goto out_unlock;
	}
	if ((uintptr_t)p + size > ARENA_ADDR_LIMIT) {
		/* SETUP is once per process: the arena is lost for good. */
		munmap(p, size);
		err = -ERANGE;
		goto out_unlock;
	}
	arena.fd = dev->fd;
	arena.size = size;
	smp_store_release(&arena.base, (char *)p);
	err = 0;
out_unlock:
	pthread_mutex_unlock(&arena.setup_lock);
	return err;
}

int vcore_arena_contains(const void *p, size_t len)
{
	char *base = arena_base();
	uintptr_t a = (uintptr_t)p;

	if (!base)
		return 0;
	return a >= (uintptr_t)base && len <= arena.size &&
	       a - (uintptr_t)base <= arena.size - len;
}

int vcore_arena_region(void **base, size_t *size)
{
	char *b = arena_base();

	if (!b)
		return -ENXIO;
	if (base)
		*base = b;
	if (size)
		*size = arena.size;
	return 0;
}

void *vcore_arena_alloc_pages(unsigned int nr_pages)
{
	return vcore_arena_alloc_pages_node(nr_pages, -1);
}

void *vcore_arena_alloc_pages_node(unsigned int nr_pages, int node)
{
	struct vcore_arena_alloc req = { .nr_pages = nr_pages };

	if (node >= 0) {
		req.flags = VCORE_ARENA_NODE;
		req.node = node;
	}
	if (!nr_pages || node < -1) {
		errno = EINVAL;
		return NULL;
	}
	if (!arena_base()) {
		errno = ENXIO;
		return NULL;
	}
	if (ioctl(arena.fd, VCORE_IOC_ARENA_ALLOC, &req))
		return NULL;
	/* Trust, but do not scribble on memory outside the arena. */
	if (req.addr & VCORE_PAGE_MASK ||
	    !vcore_arena_contains((void *)(uintptr_t)req.addr,
				  (size_t)nr_pages * VCORE_PAGE_SIZE)) {
		errno = EPROTO;
		return NULL;
	}
	return (void *)(uintptr_t)req.addr;
}

int vcore_arena_free_pages(void *addr, unsigned int nr_pages)
{
	struct vcore_arena_alloc req = {
		.addr = (uintptr_t)addr,
		.nr_pages = nr_pages,
	};

	if (!arena_base())
		return -ENXIO;
	if (ioctl(arena.fd, VCORE_IOC_ARENA_FREE, &req))
		return -errno;
	return 0;
}
