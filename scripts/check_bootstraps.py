#!/usr/bin/env python3
"""Checks that `sam build` produced an arm64 (aarch64) ELF `bootstrap` for each named
function: `check_bootstraps.py BUILD_DIR Function...`. Prints each one's size."""
import os
import struct
import sys

EM_AARCH64 = 183


def main():
    build_dir, functions = sys.argv[1], sys.argv[2:]
    ok = True
    for name in functions:
        path = f"{build_dir}/{name}/bootstrap"
        try:
            with open(path, "rb") as f:
                header = f.read(20)
        except OSError as e:
            print(f"{name}: {e}")
            ok = False
            continue
        machine = struct.unpack_from("<H", header, 18)[0] if header[:4] == b"\x7fELF" else None
        size = os.path.getsize(path)
        print(f"{name}: {'aarch64 ELF' if machine == EM_AARCH64 else f'not aarch64 (e_machine {machine})'}, {size / 1e6:.1f} MB")
        ok &= machine == EM_AARCH64
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
