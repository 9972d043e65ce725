"""The SAM template's own data resources, created on the AWS emulator.

Translates template.yaml offline with samtranslator (the library `sam` itself uses), keeps
the resources the emulator's CloudFormation can create and a test needs (the table, the
topics, the bus, the queues, the rule and its target), creates them as one stack, and
prints their physical ids as JSON on stdout.

Before that it checks what neither `sam validate` nor cfn-lint catches and CloudFormation
refuses at deploy time: a circular dependency between the translated template's resources
(Ref, GetAtt, Sub and DependsOn, as CloudFormation reads them). Functions, the HTTP API, Cognito, the
schedule and the alarms are left out: the emulator cannot run or create them, and the test
plays the schedule and the queue's event source mapping itself.

Usage: python emulated_stack.py TEMPLATE ENDPOINT STACK_NAME
       python emulated_stack.py --cycles TEMPLATE   (the check alone)
"""

import json
import re
import os
import sys

import boto3
import yaml
from samtranslator.translator.transform import transform

KEPT = {
    "AWS::DynamoDB::Table",
    "AWS::SNS::Topic",
    "AWS::Events::EventBus",
    "AWS::SQS::Queue",
    "AWS::Events::Rule",
}


class NoManagedPolicies:
    """SAM's managed-policy loader, offline: SAM inserts the ARNs it needs itself."""

    def load(self):
        return {}


def cloudformation_loader():
    """A YAML loader that keeps CloudFormation's short-form intrinsics (!Ref, !GetAtt...)."""

    class Loader(yaml.SafeLoader):
        pass

    def construct(tag):
        name = "Fn::" + tag if tag not in ("Ref", "Condition") else tag

        def build(loader, node):
            if isinstance(node, yaml.ScalarNode):
                value = loader.construct_scalar(node)
                if tag == "GetAtt" and isinstance(value, str):
                    value = value.split(".", 1)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            else:
                value = loader.construct_mapping(node, deep=True)
            return {name: value}

        return build

    for tag in ["Ref", "Condition", "GetAtt", "Sub", "If", "Not", "Equals", "Select", "Split",
                "Join", "And", "Or", "FindInMap", "Base64", "GetAZs", "ImportValue", "Cidr"]:
        Loader.add_constructor("!" + tag, construct(tag))
    return Loader


def references(value, names):
    """The resources `value` refers to (Ref, Fn::GetAtt, ${Name} in Fn::Sub)."""
    found = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str) and inner in names:
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                if target in names:
                    found.add(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                for variable in re.findall(r"\$\{([^}!]+)\}", text):
                    name = variable.split(".")[0]
                    if name in names:
                        found.add(name)
                if isinstance(inner, list):
                    found |= references(inner[1], names)
            else:
                found |= references(inner, names)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner, names)
    return found


def cycle(resources):
    """A circular dependency among `resources`, as a list of names, or None."""
    names = set(resources)
    edges = {}
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        edges[name] = (references(resource.get("Properties", {}), names) | set(depends)) - {name}
    state = {}
    for start in sorted(names):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(edges[start])))]
        path = [start]
        state[start] = "open"
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = "done"
                stack.pop()
                path.pop()
            elif state.get(child) == "open":
                return path[path.index(child):] + [child]
            elif child not in state:
                state[child] = "open"
                stack.append((child, iter(sorted(edges[child]))))
                path.append(child)
    return None


def translated_template(template_path):
    """template.yaml as CloudFormation receives it from SAM, checked for cycles."""
    with open(template_path) as f:
        template = yaml.load(f, Loader=cloudformation_loader())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = "s3://placeholder/code.zip"
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    translated = transform(template, {}, NoManagedPolicies())
    circular = cycle(translated["Resources"])
    if circular:
        sys.exit("circular dependency in the translated template: " + " -> ".join(circular))
    return translated


def main():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if sys.argv[1] == "--cycles":
        translated_template(sys.argv[2])
        print("no circular dependency")
        return
    template_path, endpoint, stack_name = sys.argv[1:4]
    translated = translated_template(template_path)
    kept = {
        name: resource
        for name, resource in translated["Resources"].items()
        if resource["Type"] in KEPT
    }
    stack = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": translated.get("Parameters", {}),
        "Conditions": translated.get("Conditions", {}),
        "Resources": kept,
    }
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(stack))
    waiter = cloudformation.get_waiter("stack_create_complete")
    waiter.wait(StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in resources}
    sqs = session.client("sqs", endpoint_url=endpoint)
    queues = {}
    for name in ("VerifierQueue", "VerifierDeadLetterQueue"):
        queue_name = physical[name].rsplit("/", 1)[-1]
        queues[name] = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    events = session.client("events", endpoint_url=endpoint)
    # The emulator reports no physical id for a bus: the template names it after the stack.
    bus = physical.get("Bus") or f"{stack_name}-events"
    bus_name = bus.rsplit("/", 1)[-1] if bus.startswith("arn:") else bus
    names = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    if bus_name not in names:
        sys.exit(f"the stack's bus {bus_name} is not among {names}")
    print(json.dumps({
        "table": physical["Table"],
        "alert_topic": physical["AlertTopic"],
        "bus": bus_name,
        "verifier_queue": queues["VerifierQueue"],
        "dead_letter_queue": queues["VerifierDeadLetterQueue"],
        "rules": [r["Name"] for r in events.list_rules(EventBusName=bus_name)["Rules"]],
        "resources": sorted(kept),
    }))


if __name__ == "__main__":
    main()
