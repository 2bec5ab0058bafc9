#!/usr/bin/env python3
"""Translates template.yaml into plain CloudFormation with the aws-sam-translator
package, offline (no AWS call), so checkov can see the IAM roles and policies SAM
generates: they exist only after the transform.

    python3 scripts/sam_translate.py template.yaml > translated.json
"""
import json
import sys

from samtranslator.parser.parser import Parser
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class OfflinePolicies:
    """The managed policies SAM may attach, by name, without asking IAM."""

    def load(self):
        return {
            name: f"arn:aws:iam::aws:policy/{path}{name}"
            for name, path in [
                ("AWSLambdaBasicExecutionRole", "service-role/"),
                ("AWSXrayWriteOnlyAccess", ""),
                ("AWSXRayDaemonWriteAccess", ""),
            ]
        }


def main():
    with open(sys.argv[1]) as f:
        template = yaml_parse(f.read())
    # The transform resolves DefinitionUri itself only for S3 locations; inline the
    # local ASL files as `sam deploy` does after packaging.
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        uri = props.get("DefinitionUri")
        if resource["Type"] == "AWS::Serverless::StateMachine" and isinstance(uri, str):
            with open(uri) as f:
                props["Definition"] = json.load(f)
            del props["DefinitionUri"]
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://bucket/" + props["CodeUri"].strip("./")
    translated = transform(template, {}, OfflinePolicies(), Parser())
    json.dump(translated, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main()
