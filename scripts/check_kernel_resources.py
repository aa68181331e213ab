#!/usr/bin/env python3
"""Fails when a CUDA kernel spills registers to local memory or keeps a stack frame.

  check_kernel_resources.py NVCC ARCH INCLUDE_DIR... -- FILE.cu... [--allow-stack NAME...]

Compiles each file to a cubin for ARCH (e.g. sm_90) with `-Xptxas -v` and reads
ptxas's "N bytes stack frame, N bytes spill stores" for every function. The
kernels hold their state in registers and shared memory; a spill or a stack
frame would cost a trip to local (device) memory per access. A kernel named
after --allow-stack may keep a stack frame (never spill): RoPE's double-precision
sin/cos reduce large angles through a small local array, as the CPU's libm does.
"""
import os
import re
import subprocess
import sys
import tempfile

FUNCTION = re.compile(r"Function properties for (\S+)")
FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")


def check(nvcc, arch, includes, source, scratch, allowed):
    cmd = [nvcc, '-std=c++20', '--expt-relaxed-constexpr', f'-arch={arch}', '-cubin',
           '-Xptxas', '-v', '-o', os.path.join(scratch, 'out.cubin'), source]
    cmd += [f'-I{d}' for d in includes]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        return 0, [f'{source}: nvcc failed:\n{run.stderr}']
    function, problems, functions = None, [], 0
    for line in run.stderr.splitlines():
        if m := FUNCTION.search(line):
            function = m.group(1)
        elif (m := FRAME.search(line)) and function:
            functions += 1
            stack, spill_stores, _ = map(int, m.groups())
            if spill_stores or (stack and not any(a in function for a in allowed)):
                problems.append(f'{os.path.basename(source)} {function}: {stack} bytes stack '
                                f'frame, {spill_stores} bytes spill stores')
            function = None
    return functions, problems


def main():
    args = sys.argv[1:]
    split = args.index('--')
    allowed = []
    if '--allow-stack' in args:
        at = args.index('--allow-stack')
        allowed, args = args[at + 1:], args[:at]
    nvcc, arch, includes, sources = args[0], args[1], args[2:split], args[split + 1:]
    total, problems = 0, []
    with tempfile.TemporaryDirectory() as scratch:
        for source in sources:
            n, p = check(nvcc, arch, includes, source, scratch, allowed)
            total += n
            problems += p
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f'kernel resources: {len(problems)} problem(s)', file=sys.stderr)
        return 1
    if total == 0:
        print('kernel resources: ptxas reported no functions', file=sys.stderr)
        return 1
    print(f'kernel resources: {total} functions on {arch}, no spills, no stack frames')
    return 0


if __name__ == '__main__':
    sys.exit(main())
