#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Writes the fuzz target's seed corpus (corpus/): small programs in the
input language fuzz_core.c decodes, one per feature, so that fuzzing
starts from inputs that already reach every send path.

    mkseeds.py [OUTDIR]

Keep the opcodes and operand layouts in step with fuzz_core.c."""
import os
import struct
import sys

(OP_SEND, OP_WRITE, OP_EVQ_FIELD, OP_UCQ_FIELD, OP_CEQ_FIELD, OP_VCPD,
 OP_ARRANGE, OP_KEVENT, OP_POST_VCORE, OP_NOTIFY, OP_ARENA_ALLOC,
 OP_ARENA_FREE, OP_WAKEUP, OP_MIDWRITE, OP_IRQ, OP_UNMAP, OP_CONSUME,
 OP_DYING) = range(18)

IPI, SPAM_PUBLIC, INDIR, PRIVATE, SPAM_INDIR, MUST_RUN, NOTHROTTLE, \
    ROUNDROBIN, APPRO, WAKEUP = (1 << i for i in range(10))
RUNNABLE_S, RUNNABLE_M, RUNNING_M, WAITING = 1, 2, 3, 4
EVQ_UCQ, EVQ_CEQ, EVQ_BITMAP, EVQ_VCPD = range(4)
EV_ALARM, EV_USER_IPI = 7, 5


def u8(v):
    return bytes([v & 0xff])


def u16(v):
    return struct.pack('<H', v & 0xffff)


def u32(v):
    return struct.pack('<I', v & 0xffffffff)


def u64(v):
    return struct.pack('<Q', v & 0xffffffffffffffff)


def header(vcores=4, apart=False):
    return u8(vcores - 1) + u8(1 if apart else 0)


def msg(ev_type=EV_ALARM, arg2=1):
    # gen_msg: type, arg1, arg2 (2 bytes), arg3
    return u8(ev_type) + u8(0x5a) + u16(arg2) + u8(0x33)


def send(evq, ev_type=EV_ALARM, arg2=1, vcoreid=0):
    return u8(OP_SEND) + u8(0) + u8(evq) + msg(ev_type, arg2) + u8(vcoreid)


def evq_flags(evq, flags):
    return u8(OP_EVQ_FIELD) + u8(evq) + u8(1) + u16(flags)


def evq_vcore(evq, vcore):
    return u8(OP_EVQ_FIELD) + u8(evq) + u8(3) + u8(vcore)


def arrange(state, lists, shuffle=0):
    """lists: per vcore 0 online, 1 bulk-preempted, 2 inactive"""
    bits = 0
    for i, which in enumerate(lists):
        bits |= which << (2 * i)
    return u8(OP_ARRANGE) + u8(state - 1) + u64(shuffle) + u32(bits)


def consume(n=4):
    # count, then one ucq pick per message: 1 = the UCQ ev_q
    return u8(OP_CONSUME) + u8(n) + bytes([1] * (n % 8))


def vcpd(v, field, value):
    return u8(OP_VCPD) + u8(v) + u8(field) + u8(value)


SEEDS = {
    'ucq-plain': header() + send(EVQ_UCQ) + send(EVQ_UCQ, arg2=2) +
    consume(),
    'ceq-bitmap': header() + send(EVQ_CEQ, 3) + send(EVQ_CEQ, 3, 4) +
    send(EVQ_BITMAP, 9) + consume(1),
    'vcpd-private-ipi': header() + arrange(RUNNING_M, [0, 2, 2, 2]) +
    evq_flags(EVQ_VCPD, PRIVATE | IPI) + send(EVQ_VCPD) +
    vcpd(0, 1, 1) + send(EVQ_VCPD),
    'indir': header() + arrange(RUNNING_M, [2, 0, 2, 2]) +
    evq_flags(EVQ_UCQ, INDIR | IPI) + evq_vcore(EVQ_UCQ, 1) +
    send(EVQ_UCQ) + send(EVQ_UCQ) + evq_flags(EVQ_UCQ, INDIR | NOTHROTTLE) +
    send(EVQ_UCQ),
    'spam-indir': header() + arrange(RUNNING_M, [1, 0, 2, 2]) +
    evq_flags(EVQ_UCQ, INDIR | SPAM_INDIR | IPI) + send(EVQ_UCQ),
    'spam-public': header() + arrange(RUNNING_M, [0, 1, 2, 2]) +
    evq_flags(EVQ_VCPD, SPAM_PUBLIC | IPI) + vcpd(2, 0, 4) +
    send(EVQ_VCPD, vcoreid=2) + evq_vcore(EVQ_VCPD, 3) + send(EVQ_VCPD) +
    arrange(RUNNABLE_M, [1, 2, 2, 2]) + send(EVQ_VCPD) +
    arrange(RUNNABLE_M, [2, 2, 2, 2]) + send(EVQ_VCPD),
    'spam-must-run': header() + arrange(RUNNING_M, [0, 0, 2, 2]) +
    evq_flags(EVQ_VCPD, SPAM_PUBLIC | MUST_RUN) + evq_vcore(EVQ_VCPD, 1) +
    send(EVQ_VCPD) + evq_vcore(EVQ_VCPD, 3) + send(EVQ_VCPD) +
    arrange(WAITING, [2, 2, 2, 2]) + send(EVQ_VCPD),
    'roundrobin-wakeup': header() + arrange(RUNNING_M, [0, 0, 0, 2]) +
    evq_flags(EVQ_VCPD, ROUNDROBIN | APPRO | WAKEUP) + send(EVQ_VCPD) +
    send(EVQ_VCPD) + arrange(WAITING, [2, 2, 2, 2]) + send(EVQ_VCPD),
    'kernel-event': header() + u8(OP_KEVENT) + msg(EV_ALARM) + u8(1) +
    u8(0) + u8(EVQ_UCQ) + u8(0) + u8(OP_POST_VCORE) + msg(11) + u8(2) +
    u8(PRIVATE) + u8(OP_NOTIFY) + u8(1),
    'ucq-page-link': header() + u8(OP_UCQ_FIELD) + u8(1) + u8(5) + u8(1) +
    send(EVQ_UCQ) + send(EVQ_UCQ) + send(EVQ_UCQ) + consume(5),
    'ucq-hostile-spare': header() + u8(OP_UCQ_FIELD) + u8(1) + u8(2) +
    u8(4) + u16(3) + u8(OP_UCQ_FIELD) + u8(1) + u8(5) + u8(0) +
    send(EVQ_UCQ) + send(EVQ_UCQ),
    'ceq-small-ring': header() + u8(OP_CEQ_FIELD) + u8(3) + u8(0) + u8(4) +
    b''.join(send(EVQ_CEQ, t) for t in range(1, 8)) + consume(1),
    'midwrite': header() + u8(OP_MIDWRITE) + u8(3) + u8(2) + u16(1) +
    u8(0) + u8(0) + u8(2) + u8(0x10) + send(EVQ_UCQ),
    'irq': header() + arrange(RUNNING_M, [0, 2, 2, 2]) + u8(OP_IRQ) +
    msg() + u8(EVQ_UCQ) + u8(6) + evq_flags(EVQ_VCPD, SPAM_PUBLIC | IPI) +
    send(EVQ_VCPD),
    'unmap': header() + u8(OP_UNMAP) + u8(1) + u8(1) + send(EVQ_UCQ) +
    u8(OP_UNMAP) + u8(1) + u8(0) + send(EVQ_UCQ) + u8(OP_UNMAP) + u8(0) +
    u8(1) + send(EVQ_VCPD),
    'arena': header() + u8(OP_ARENA_ALLOC) + u8(3) + u8(OP_ARENA_FREE) +
    u8(1) + u16(0) + u8(1) + u8(OP_ARENA_ALLOC) + u8(7),
    'hostile-write': header(8, True) + u8(OP_WRITE) + u8(3) + u8(7) +
    u8(0) + u16(0) + u8(0) + u64(0xdeadbeef) + send(EVQ_UCQ) +
    u8(OP_SEND) + u8(0x80) + u8(4) + u16(0) + msg() + u8(0),
    'dying': header(1) + send(EVQ_VCPD) + u8(OP_DYING) + u8(0xd1) +
    send(EVQ_VCPD) + u8(OP_WAKEUP),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'corpus')
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    print('%d seeds in %s' % (len(SEEDS), out))


if __name__ == '__main__':
    main()
