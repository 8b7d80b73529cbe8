// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * libvcore's vcore context and uthreads against the real vcore.ko, in the
 * VM (make vm-smoke): uthreads that keep every register live (regs_torture)
 * and share a mutex run on every vcore while another thread notifies the
 * vcores (VCORE_IOC_SELF_NOTIFY) and, in the second half, preempts them
 * (VCORE_IOC_PREEMPT, so run as root) and asks for them back.
 *
 *   vm_smoke [SECONDS [MODE [preempt]]]     MODE: regs_torture's
 *
 * Prints one line per phase and "RESULT PASS", "RESULT FAIL" (a register
 * changed) or "RESULT STUCK" (the uthreads did not finish; the VCPDs are
 * dumped).  Exit status 0, 1, 2 likewise.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "barrier.h"
#include "event.h"
#include "uthread.h"
#include "vcore_ctx.h"

#define NR_UTHREADS	4

unsigned long regs_torture(unsigned long rounds, unsigned long spin,
			   unsigned long mode, unsigned long *badmask);
extern char __vcore_entry[], __vcore_pop[];

static struct vcore_dev dev;
static unsigned int stop, fire, preempt;
static unsigned long bad, rounds, mask_all, counter, seen;
static struct uth_mutex mtx = UTH_MUTEX_INIT;

/* Process-directed signals: where their handler ran. */
static unsigned long sig_on_vcore, sig_elsewhere;

static void count_signal(int sig)
{
	(void)sig;
	if (vcore_id() != -1U)
		fetch_add(&sig_on_vcore, 1);
	else
		fetch_add(&sig_elsewhere, 1);
}

/*
 * Queue SIGRTMIN+1 to the process while the main thread blocks it: the
 * kernel hands each to a thread that does not, the vcore threads included
 * unless they block it (they must: libvcore blocks asynchronous signals
 * on vcore threads), and the firer otherwise.
 */
static void signal_the_process(unsigned int n)
{
	union sigval v = { 0 };

	for (unsigned int i = 0; i < n; i++) {
		sigqueue(getpid(), SIGRTMIN + 1, v);
		usleep(500);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *torturer(void *arg)
{
	unsigned long mask = 0, mode = (uintptr_t)arg;

	while (!READ_ONCE(stop)) {
		fetch_add(&bad, regs_torture(20, 2000, mode, &mask));
		fetch_add(&rounds, 20);
		fetch_or(&seen, 1UL << vcore_id());
		vcore_uth_mutex_lock(&mtx);
		counter++;
		vcore_uth_mutex_unlock(&mtx);
		vcore_uthread_yield();
	}
	fetch_or(&mask_all, mask);
	return NULL;
}

static void *firer(void *arg)
{
	struct event_msg m = { .ev_type = EV_FREE_APPLE_PIE };
	unsigned int v = 0, n = vcore_max_vcores();
	unsigned long k = 0;

	(void)arg;
	while (!READ_ONCE(stop)) {
		if (READ_ONCE(fire)) {
			v = (v + 1) % n;
			vcore_self_notify(v, &m, false);
		}
		if (READ_ONCE(preempt) && ++k % 20 == 0) {
			struct vcore_preempt p = {
				.target_fd = dev.fd,
				.vcoreid = v,
			};

			ioctl(dev.fd, VCORE_IOC_PREEMPT, &p);
			usleep(2000);
			vcore_request_more(0);
		}
		usleep(200);
	}
	return NULL;
}

static void dump_stuck(unsigned long exited)
{
	printf("STUCK: %lu exited; entry %p pop %p\n", exited,
	       (void *)__vcore_entry, (void *)__vcore_pop);
	for (unsigned int v = 0; v < vcore_max_vcores(); v++) {
		struct vcore_preempt_data *p = vcore_vcpd_of(v);

		printf("vc%u: mapped %d flags %#x racy %#x notif_disabled %u "
		       "notif_pending %u vcore_ctx type %u rip %#llx, "
		       "uthread_ctx type %u rip %#llx\n", v,
		       vcore_is_mapped(v), p->flags, p->racy_flags,
		       p->notif_disabled, p->notif_pending, p->vcore_ctx.type,
		       (unsigned long long)p->vcore_ctx.rip,
		       p->uthread_ctx.type,
		       (unsigned long long)p->uthread_ctx.rip);
	}
	printf("procinfo: state %u num_vcores %u\n", dev.kprocinfo->state,
	       dev.kprocinfo->num_vcores);
	printf("RESULT STUCK\n");
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5, t0;
	unsigned long mode = argc > 2 ? strtoul(argv[2], NULL, 0) : 1;
	struct uthread *u[NR_UTHREADS];
	struct uthread_stats us;
	struct vcore_stats st;
	pthread_t ft;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGRTMIN + 1, count_signal);
	err = vcore_dev_open(&dev);
	if (!err)
		err = vcore_arena_setup(&dev, 4 << 20);
	if (!err)
		err = vcore_uthread_lib_init(&dev);
	if (err) {
		printf("setup: %d\nRESULT FAIL\n", err);
		return 1;
	}
	printf("max_vcores %u, pcores %u, fp_state_size %u, fp area %zu\n",
	       dev.api.max_vcores, dev.api.nr_pcores, dev.api.fp_state_size,
	       vcore_fp_size());
	for (int i = 0; i < NR_UTHREADS; i++)
		u[i] = vcore_uthread_create(torturer, (void *)mode);
	pthread_create(&ft, NULL, firer, NULL);
	t0 = now();
	WRITE_ONCE(fire, 1);
	{
		sigset_t rt;

		sigemptyset(&rt);
		sigaddset(&rt, SIGRTMIN + 1);
		pthread_sigmask(SIG_BLOCK, &rt, NULL);
		signal_the_process(200);
		printf("signals: %lu handled on vcore threads, %lu elsewhere\n",
		       READ_ONCE(sig_on_vcore), READ_ONCE(sig_elsewhere));
	}
	while (now() - t0 < secs / 2)
		usleep(10000);
	printf("notify: %lu rounds, %lu bad (%#lx), counter %lu, vcores %#lx\n",
	       READ_ONCE(rounds), READ_ONCE(bad), READ_ONCE(mask_all),
	       READ_ONCE(counter), READ_ONCE(seen));
	if (argc > 3) {
		printf("preempting too\n");
		WRITE_ONCE(preempt, 1);
	}
	while (now() - t0 < secs)
		usleep(10000);
	WRITE_ONCE(stop, 1);
	t0 = now();
	do {
		usleep(20000);
		vcore_uthread_get_stats(&us);
	} while (us.exited < NR_UTHREADS && now() - t0 < 30);
	if (us.exited < NR_UTHREADS) {
		dump_stuck(us.exited);
		_exit(2);
	}
	for (int i = 0; i < NR_UTHREADS; i++)
		vcore_uthread_join(u[i], NULL);
	pthread_join(ft, NULL);
	vcore_uthread_get_stats(&us);
	ioctl(dev.fd, VCORE_IOC_GET_STATS, &st);
	printf("done: %lu rounds, %lu bad (%#lx), counter %lu, vcores %#lx\n",
	       rounds, bad, mask_all, counter, seen);
	printf("uthreads: %lu stolen, %lu CHANGE_VCORE, %lu fallbacks, "
	       "%lu mboxes drained, %lu vcore yields; kernel: %llu IPIs\n",
	       us.steals, us.changes, us.change_fallbacks, us.remote_drains,
	       us.vcore_yields, (unsigned long long)st.notifs);
	bad += sig_on_vcore + !sig_elsewhere;
	printf("RESULT %s\n", bad || mask_all ? "FAIL" : "PASS");
	return bad || mask_all;
}
