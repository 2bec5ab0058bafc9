#!/usr/bin/env bash
# Invokes every function with its events/ sample through `cargo lambda watch`, against
# moto server seeded with what the samples name (a state machine, a training job).
# By hand, after `bash .ci/run` has made the venvs:
#     bash scripts/invoke_all.sh
# Prints each function's answer: a JSON output, or its typed error.
set -uo pipefail
cd "$(dirname "$0")/.."
CACHE="${WEIGHBRIDGE_CACHE:-${HOME}/.cache/weighbridge}"
moto_venv="${CACHE}/venv-moto"
lambda_path="${CACHE}/venv-lambda/bin:${PATH}"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null && return; sleep 0.2; done; }

port="$(free_port)"; lport="$(free_port)"
setsid "${moto_venv}/bin/moto_server" -H 127.0.0.1 -p "$port" >/tmp/invoke-all-moto.log 2>&1 &
moto_pid=$!
trap 'kill -- "-$moto_pid" 2>/dev/null; [ -n "${watch_pid:-}" ] && kill -- "-$watch_pid" 2>/dev/null' EXIT
wait_port "$port"

# Seed moto with boto3 from moto's own venv.
sm_arn="$("${moto_venv}/bin/python" - "$port" <<'PY'
import sys, boto3
url = f"http://127.0.0.1:{sys.argv[1]}"
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
boto3.client("s3", **kw).create_bucket(Bucket="weighbridge-data")
sm = boto3.client("sagemaker", **kw)
sm.create_training_job(
    TrainingJobName="wb-management-experience-and-salary-csv-5d41402abc4b2a76",
    AlgorithmSpecification={"TrainingImage": "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1", "TrainingInputMode": "File"},
    RoleArn="arn:aws:iam::123456789012:role/weighbridge-sagemaker",
    OutputDataConfig={"S3OutputPath": "s3://weighbridge-data/models/"},
    ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
    StoppingCondition={"MaxRuntimeInSeconds": 3600},
)
sfn = boto3.client("stepfunctions", **kw)
arn = sfn.create_state_machine(name="retrain", definition='{"StartAt":"D","States":{"D":{"Type":"Succeed"}}}',
                               roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
print(arn)
PY
)"
echo "seeded moto on port $port; state machine $sm_arn"

PATH="$lambda_path" AWS_ENDPOINT_URL="http://127.0.0.1:${port}" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    AWS_REGION=us-east-1 STATE_MACHINE_ARN="$sm_arn" KEY_PREFIX=incoming/ KEY_SUFFIX=.csv \
    setsid cargo lambda watch -A 127.0.0.1 -P "$lport" >/tmp/invoke-all-watch.log 2>&1 &
watch_pid=$!
wait_port "$lport"
for f in start-retraining train evaluate-model deploy evaluate-variants shift-weights; do
    printf '\n--- %s (events/%s.json)\n' "$f" "$f"
    PATH="$lambda_path" cargo lambda invoke "$f" -A 127.0.0.1 -P "$lport" -F "events/$f.json" 2>&1 | grep -v '^$' | head -8
done
printf '\nerror types logged by the functions:\n'
grep -o '"error_type":"[^"]*"' /tmp/invoke-all-watch.log | sort | uniq -c
