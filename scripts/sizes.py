#!/usr/bin/env python3
"""Sizes of the code in crates/*/src: the largest files, the longest functions, and how
many are over the house limits (600 lines a file, 80 a function). A brace-matching scan
that stops at a file's `#[cfg(test)]`, so unit tests are not counted.

    python3 scripts/sizes.py [ROOT]     # ROOT defaults to the repository
"""
import os
import re
import sys

FN = re.compile(r"\s*(pub(\((crate|super)\))?\s+)?(async\s+)?fn\s+(\w+)")


def function_lengths(lines):
    """(length, name) of every function before the file's tests."""
    out = []
    for i, line in enumerate(lines):
        if re.match(r"\s*#\[cfg\(test\)\]", line):
            break
        m = FN.match(line)
        if not m:
            continue
        depth, started, j = 0, False, i
        while j < len(lines):
            depth += lines[j].count("{") - lines[j].count("}")
            started = started or "{" in lines[j]
            if started and depth <= 0:
                break
            if not started and lines[j].rstrip().endswith(";"):
                break
            j += 1
        if started:
            out.append((j - i + 1, m.group(5)))
    return out


def scan(root):
    files, fns = [], []
    for crate in sorted(os.listdir(os.path.join(root, "crates"))):
        src = os.path.join(root, "crates", crate, "src")
        for dirpath, _, names in os.walk(src):
            for name in names:
                if not name.endswith(".rs"):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                lines = open(path, encoding="utf-8").read().split("\n")
                files.append((len(lines), rel))
                fns.extend((n, f"{rel}:{f}") for n, f in function_lengths(lines))
    return sorted(files, reverse=True), sorted(fns, reverse=True)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    files, fns = scan(root)
    print("largest files:")
    for n, p in files[:5]:
        print(f"  {n:5} {p}")
    print("longest functions:")
    for n, p in fns[:5]:
        print(f"  {n:5} {p}")
    print(f"files over 600 lines: {sum(n > 600 for n, _ in files)}")
    print(f"functions over 80 lines: {sum(n > 80 for n, _ in fns)}")
    for n, p in fns:
        if n > 80:
            print(f"  {n:5} {p}")


if __name__ == "__main__":
    main()
