#!/usr/bin/env python3
"""Extracts the built-in algorithms' ECR registries from the SageMaker Python SDK.

    python3 scripts/image_uris.py   # needs network to PyPI (pip download)

Writes crates/tasks/data/image_uris.json: for linear-learner and xgboost, per scope
(training, inference) and version, the ECR repository and the registry account of every
region — the public data `sagemaker.image_uris.retrieve` reads from its
`image_uri_config/*.json`. The Rust side builds the URI the same way:
`{account}.dkr.ecr.{region}.{domain}/{repository}:{version}`.
"""
import json
import pathlib
import subprocess
import sys
import tempfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/tasks/data/image_uris.json"
SDK = "sagemaker==2.257.7"  # the 3.x wheels no longer ship image_uri_config


def main():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", SDK, "--no-deps", "-q", "-d", tmp], check=True)
        wheel = next(pathlib.Path(tmp).glob("*.whl"))
        z = zipfile.ZipFile(wheel)
        out = {"source": SDK, "algorithms": {}}
        for algo in ("linear-learner", "xgboost"):
            raw = json.loads(z.read(f"sagemaker/image_uri_config/{algo}.json"))
            scopes = {}
            for scope in ("training", "inference"):
                block = raw[scope] if scope in raw else raw  # linear-learner has one block for both
                scopes[scope] = {
                    "aliases": block.get("version_aliases", {}),
                    "versions": {
                        v: {"repository": spec["repository"], "registries": spec["registries"]}
                        for v, spec in block["versions"].items()
                    },
                }
            out["algorithms"][algo] = scopes
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} from {SDK}")


if __name__ == "__main__":
    main()
