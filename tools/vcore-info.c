// SPDX-License-Identifier: GPL-2.0
/*
 * vcore-info: become an MCP and print what the module publishes: the API
 * handshake, the regions and the pcore map with its topology.
 */
#include <stdio.h>
#include <string.h>

#include "vcore.h"

static const char *const feature_names[] = {
	"events", "vcores", "preempt", "topology", "test",
};

static void print_api(const struct vcore_api *a)
{
	unsigned int i;

	printf("api            %u\n", a->api);
	printf("features      ");
	for (i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
		if (a->features & (1ULL << i))
			printf(" %s", feature_names[i]);
	printf("\nioctls         %#llx %#llx\n",
	       (unsigned long long)a->ioctls[1],
	       (unsigned long long)a->ioctls[0]);
	printf("procinfo       offset %#llx size %llu\n",
	       (unsigned long long)a->procinfo_offset,
	       (unsigned long long)a->procinfo_size);
	printf("procdata       offset %#llx size %llu (VCPD %u bytes at %u)\n",
	       (unsigned long long)a->procdata_offset,
	       (unsigned long long)a->procdata_size, a->vcpd_size,
	       a->vcpd_offset);
	printf("arena          offset %#llx max %llu\n",
	       (unsigned long long)a->arena_offset,
	       (unsigned long long)a->arena_max_size);
	printf("max_vcores     %u\n", a->max_vcores);
	printf("max_nr_event   %u\n", a->max_nr_event);
	printf("fp_state_size  %u\n", a->fp_state_size);
}

static void print_procinfo(const struct vcore_procinfo *pi)
{
	unsigned int cpu;

	printf("pid            %u\n", pi->pid);
	printf("state          %u\n", pi->state);
	printf("num_vcores     %u\n", pi->num_vcores);
	printf("tsc_freq       %llu Hz\n", (unsigned long long)pi->tsc_freq);
	printf("pcores         cpu managed node package core\n");
	for (cpu = 0; cpu < pi->nr_pcores; cpu++) {
		const struct vcore_pcoremap_entry *e = &pi->pcoremap[cpu];

		printf("               %3u %7s %4d %7u %4u\n", cpu,
		       e->managed ? "yes" : "no", e->numa_node, e->package_id,
		       e->core_id);
	}
}

int main(void)
{
	struct vcore_dev dev;
	int err = vcore_dev_open(&dev);

	if (err) {
		fprintf(stderr, "vcore-info: /dev/vcore: %s\n", strerror(-err));
		return 1;
	}
	print_api(&dev.api);
	print_procinfo(dev.kprocinfo);
	vcore_dev_close(&dev);
	return 0;
}
