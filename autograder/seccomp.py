"""The sandbox's seccomp filter: system calls a notebook never needs, refused by the kernel.

Namespaces isolate files, processes, network and IPC, but some kernel objects belong to a uid
and outlive the sandbox: a key added to the user keyring with ``add_key`` is still there when
the next submission runs under the same uid, and that submission could read the answers back.
Anonymous memory files and System V shared memory hold memory that no address-space limit
counts. Other calls (new namespaces, mounts, ``bpf``, ``io_uring``, ``ptrace``...) only
enlarge what a submission can probe. The table below is the whole policy, read like Docker's default
profile: each refused call fails with EPERM; ``clone3`` fails with ENOSYS so that the C
library falls back to ``clone``, whose flags (unlike ``clone3``'s) the filter can read and
refuse when they ask for a new namespace.

The filter is a classic BPF program assembled here with ``struct`` (bubblewrap loads it with
``--seccomp FD``); 32-bit and x32 system calls are refused outright, since their numbers differ.
"""

from __future__ import annotations

import errno
import platform
import struct

# name: (x86_64 number, aarch64 number or None where the call does not exist), from the
# kernel's unistd headers (tests/autograder checks them against /usr/include when present).
REFUSED_SYSCALLS: dict[str, tuple[int, int | None]] = {
    # Kernel keyrings are per uid and outlive the sandbox: a channel between submissions.
    "add_key": (248, 217),
    "request_key": (249, 218),
    "keyctl": (250, 219),
    # Memory that no address-space limit counts (without a memory cgroup, the budget is
    # processes x address space): anonymous files and System V shared memory.
    "memfd_create": (319, 279),
    "shmget": (29, 194),
    # New namespaces and mounts: a submission has no use for its own user namespace.
    "unshare": (272, 97),
    "setns": (308, 268),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "chroot": (161, 51),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "mount_setattr": (442, 442),
    # Looking into other processes or the kernel's memory.
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "kcmp": (312, 272),
    "pidfd_getfd": (438, 438),
    "syslog": (103, 116),
    "lookup_dcookie": (212, 18),
    "name_to_handle_at": (303, 264),
    "open_by_handle_at": (304, 265),
    # Large kernel interfaces with a history of privilege escalations.
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "fanotify_init": (300, 262),
    # Administration of the machine (privileged anyway; refused so nothing depends on it).
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "reboot": (169, 142),
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "acct": (163, 89),
    "settimeofday": (164, 170),
    "clock_settime": (227, 112),
    "clock_adjtime": (305, 266),
    "quotactl": (179, 60),
    "quotactl_fd": (443, 443),
    "vhangup": (153, 58),
    "nfsservctl": (180, 42),
    "iopl": (172, None),
    "ioperm": (173, None),
    "uselib": (134, None),
    "ustat": (136, None),
    "sysfs": (139, None),
    "_sysctl": (156, None),
    "create_module": (174, None),
    "get_kernel_syms": (177, None),
    "query_module": (178, None),
}
CLONE = (56, 220)
CLONE3 = (435, 435)
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (clone's first argument)
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
CLONE_NAMESPACE_FLAGS |= 0x20000000 | 0x40000000

ARCHITECTURES = {  # machine: (index into the number pairs, AUDIT_ARCH_* value)
    "x86_64": (0, 0xC000003E),
    "aarch64": (1, 0xC00000B7),
}
X32_SYSCALL_BIT = 0x40000000

# Classic BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h).
LOAD_WORD = 0x20  # BPF_LD | BPF_W | BPF_ABS
JUMP_EQUAL = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
JUMP_AT_LEAST = 0x35  # BPF_JMP | BPF_JGE | BPF_K
JUMP_ANY_BIT = 0x45  # BPF_JMP | BPF_JSET | BPF_K
RETURN = 0x06  # BPF_RET | BPF_K
ALLOW = 0x7FFF0000
ERRNO = 0x00050000
NR_OFFSET, ARCH_OFFSET, FIRST_ARGUMENT_OFFSET = 0, 4, 16  # struct seccomp_data (low word)


class UnsupportedArchitecture(RuntimeError):
    """No syscall table for this machine: the sandbox runs without the filter."""


def _assemble(program: list[tuple]) -> bytes:
    """``(code, jump_if_true, jump_if_false, k)`` with jumps given as label names (or 0 for
    "next"), and ``("label", name)`` markers; returns the ``struct sock_filter`` array."""
    labels, position = {}, 0
    for instruction in program:
        if instruction[0] == "label":
            labels[instruction[1]] = position
        else:
            position += 1
    out, position = [], 0
    for instruction in program:
        if instruction[0] == "label":
            continue
        code, true, false, k = instruction
        offsets = [labels[j] - position - 1 if isinstance(j, str) else j for j in (true, false)]
        out.append(struct.pack("=HBBI", code, *offsets, k))
        position += 1
    return b"".join(out)


def filter_program(machine: str | None = None) -> bytes:
    """The compiled filter for ``machine`` (default: this one)."""
    machine = machine or platform.machine()
    if machine not in ARCHITECTURES:
        raise UnsupportedArchitecture(f"no seccomp syscall table for {machine}")
    column, audit_arch = ARCHITECTURES[machine]
    refused = sorted({pair[column] for pair in REFUSED_SYSCALLS.values()} - {None})
    program: list[tuple] = [
        (LOAD_WORD, 0, 0, ARCH_OFFSET),
        (JUMP_EQUAL, 0, "refuse", audit_arch),
        (LOAD_WORD, 0, 0, NR_OFFSET),
    ]
    if machine == "x86_64":
        program.append((JUMP_AT_LEAST, "refuse", 0, X32_SYSCALL_BIT))
    program += [(JUMP_EQUAL, "refuse", 0, number) for number in refused]
    program += [
        (JUMP_EQUAL, "no_such_call", 0, CLONE3[column]),
        (JUMP_EQUAL, 0, "allow", CLONE[column]),
        (LOAD_WORD, 0, 0, FIRST_ARGUMENT_OFFSET),
        (JUMP_ANY_BIT, "refuse", "allow", CLONE_NAMESPACE_FLAGS),
        ("label", "allow"),
        (RETURN, 0, 0, ALLOW),
        ("label", "refuse"),
        (RETURN, 0, 0, ERRNO | errno.EPERM),
        ("label", "no_such_call"),
        (RETURN, 0, 0, ERRNO | errno.ENOSYS),
    ]
    return _assemble(program)
