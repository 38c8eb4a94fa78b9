"""The AWS backend (`pipewright --aws`) against moto, a real AWS-protocol server started here on a
free loopback port: plan, push (CreatePipeline, then UpdatePipeline) and export, read back with
boto3; events forwarded to EventBridge; S3 source and deploy actions on real buckets, and
artifacts uploaded to an S3 artifact store. Run with tests/aws/run.sh."""

import json
import os
import subprocess
import tempfile
import unittest
import zipfile
import io

import boto3

from servers import Moto

CLI = os.environ["PIPEWRIGHT_CLI"]
ROLE_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})


class MotoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Moto()
        cls.endpoint = cls.server.endpoint
        cls.env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                       PIPEWRIGHT_DATA_DIR=tempfile.mkdtemp(prefix="pipewright-moto-"))
        cls.codepipeline = cls.server.client("codepipeline")
        role = cls.server.client("iam").create_role(RoleName="pipeline", AssumeRolePolicyDocument=ROLE_POLICY)
        cls.role_arn = role["Role"]["Arn"]

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def pipewright(self, *args):
        return subprocess.run([CLI, "--aws", "--endpoint-url", self.endpoint, "--region", "us-east-1", *args],
                              env=self.env, capture_output=True, text=True)

    def declaration(self, build_command):
        return {
            "name": "pushed",
            "roleArn": self.role_arn,
            "artifactStore": {"type": "S3", "location": "artifacts"},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Get", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "sources", "S3ObjectKey": "app.zip"},
                    "outputArtifacts": [{"name": "App"}]}]},
                {"name": "Build", "actions": [{
                    "name": "Make", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                    "configuration": {"ProjectName": build_command},
                    "inputArtifacts": [{"name": "App"}]}]},
            ],
        }

    def write(self, declaration):
        file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(declaration, file)
        file.close()
        return file.name

    def test_plan_push_update_and_export(self):
        # The shape `aws codepipeline create-pipeline --cli-input-json` takes: its tags go too.
        first = self.write({"pipeline": self.declaration("make-app"),
                            "tags": [{"key": "team", "value": "web"}]})
        plan = self.pipewright("plan", first)
        self.assertEqual(plan.returncode, 2, plan.stderr)
        self.assertIn("pushing creates it", plan.stdout)

        refused = self.pipewright("push", first)  # not a terminal and no --yes
        self.assertNotEqual(refused.returncode, 0)
        self.assertEqual(self.codepipeline.list_pipelines()["pipelines"], [])

        pushed = self.pipewright("push", first, "--yes")
        self.assertEqual(pushed.returncode, 0, pushed.stderr)
        self.assertIn("version 1", pushed.stdout)
        got = self.codepipeline.get_pipeline(name="pushed")
        stored = got["pipeline"]
        self.assertEqual(stored["stages"][1]["actions"][0]["configuration"]["ProjectName"], "make-app")
        tags = self.codepipeline.list_tags_for_resource(resourceArn=got["metadata"]["pipelineArn"])["tags"]
        self.assertEqual(tags, [{"key": "team", "value": "web"}])

        up_to_date = self.pipewright("plan", first)
        self.assertEqual(up_to_date.returncode, 0, up_to_date.stdout + up_to_date.stderr)
        self.assertIn("up to date", up_to_date.stdout)

        second = self.write(self.declaration("make-app-faster"))
        changed = self.pipewright("plan", second)
        self.assertEqual(changed.returncode, 2)
        self.assertIn("~ action Build/Make: configuration", changed.stdout)
        pushed = self.pipewright("push", second, "--yes")
        self.assertEqual(pushed.returncode, 0, pushed.stderr)
        self.assertEqual(self.codepipeline.get_pipeline(name="pushed")["pipeline"]["version"], 2)

        exported = json.loads(self.pipewright("export", "pushed").stdout)
        self.assertEqual(exported["stages"][1]["actions"][0]["configuration"]["ProjectName"], "make-app-faster")
        listed = json.loads(self.pipewright("pipelines", "--json").stdout)
        self.assertEqual([p["name"] for p in listed["pipelines"]], ["pushed"])


    def test_local_events_forwarded_to_an_event_bus_reach_a_rule_s_queue(self):
        kwargs = dict(endpoint_url=self.endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
        events = boto3.client("events", **kwargs)
        sqs = boto3.client("sqs", **kwargs)
        events.create_event_bus(Name="releases")
        queue = sqs.create_queue(QueueName="succeeded")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="pipeline-succeeded", EventBusName="releases", EventPattern=json.dumps({
            "source": ["pipewright.codepipeline"],
            "detail-type": ["CodePipeline Pipeline Execution State Change"],
            "detail": {"state": ["SUCCEEDED"]},
        }))
        events.put_targets(Rule="pipeline-succeeded", EventBusName="releases", Targets=[{"Id": "queue", "Arn": queue_arn}])

        # A pipeline run on this machine, then its events forwarded.
        pipeline = self.write({"name": "forwarded", "pipelineType": "V2", "stages": [{"name": "Build", "actions": [{
            "name": "Make", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
            "commands": ["true"]}]}]})
        local = subprocess.run([CLI, "run", pipeline], env=self.env, capture_output=True, text=True)
        self.assertEqual(local.returncode, 0, local.stderr)
        forwarded = self.pipewright("forward-events", "forwarded", "--event-bus", "releases")
        self.assertEqual(forwarded.returncode, 0, forwarded.stderr)
        self.assertIn("Forwarded", forwarded.stdout)

        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
        self.assertEqual(len(messages), 1, "only the pipeline's SUCCEEDED event matches the rule")
        delivered = json.loads(messages[0]["Body"])
        stored = [json.loads(line) for line in subprocess.run(
            [CLI, "events", "forwarded", "--json"], env=self.env, capture_output=True, text=True, check=True
        ).stdout.splitlines()]
        succeeded = next(e for e in stored if e["detail-type"] == delivered["detail-type"] and e["detail"]["state"] == "SUCCEEDED")
        self.assertEqual(delivered["detail"], succeeded["detail"], "the detail arrives as it was stored")
        self.assertEqual(delivered["source"], "pipewright.codepipeline")

    def test_s3_source_and_deploys_use_real_buckets_and_artifacts_go_to_the_artifact_store(self):
        kwargs = dict(endpoint_url=self.endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
        s3 = boto3.client("s3", **kwargs)
        for bucket in ["app-sources", "site", "pipeline-artifacts"]:
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket="app-sources", VersioningConfiguration={"Status": "Enabled"})
        source = io.BytesIO()
        with zipfile.ZipFile(source, "w") as z:
            z.writestr("index.html", "<h1>hello</h1>\n")
            z.writestr("css/site.css", "h1 { color: teal }\n")
        version = s3.put_object(Bucket="app-sources", Key="app.zip", Body=source.getvalue())["VersionId"]

        folder = tempfile.mkdtemp(prefix="pipewright-s3-")
        s3_action = lambda category, name, config, **more: dict(
            name=name, actionTypeId={"category": category, "owner": "AWS", "provider": "S3", "version": "1"},
            configuration=config, **more)
        pipeline = {"name": "s3-roundtrip", "pipelineType": "V2",
                    "artifactStore": {"type": "S3", "location": "pipeline-artifacts"},
                    "stages": [
            {"name": "Source", "actions": [s3_action("Source", "Get", {"S3Bucket": "app-sources", "S3ObjectKey": "app.zip"},
                                                     outputArtifacts=[{"name": "SourceArtifact"}], namespace="SourceVariables")]},
            {"name": "Build", "actions": [{
                "name": "Stamp", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
                "commands": ["echo '<p>#{SourceVariables.VersionId}</p>' >> index.html"],
                "inputArtifacts": [{"name": "SourceArtifact"}], "outputArtifacts": [{"name": "Site", "files": ["**/*"]}]}]},
            {"name": "Deploy", "actions": [
                s3_action("Deploy", "Files", {"BucketName": "site", "Extract": "true", "ObjectKey": "v1", "CacheControl": "max-age=60"},
                          inputArtifacts=[{"name": "Site"}]),
                s3_action("Deploy", "Bundle", {"BucketName": "site", "Extract": "false", "ObjectKey": "bundle/site.zip"},
                          inputArtifacts=[{"name": "Site"}])]},
        ]}
        with open(os.path.join(folder, "s3-roundtrip.json"), "w") as f:
            json.dump(pipeline, f)
        with open(os.path.join(folder, "s3-roundtrip.pipewright.json"), "w") as f:
            json.dump({"aws": {"endpointUrl": self.endpoint, "region": "us-east-1"},
                       "actions": {name: {"s3": True} for name in ["Source/Get", "Deploy/Files", "Deploy/Bundle"]}}, f)
        local = lambda *args: subprocess.run([CLI, *args], env=self.env, capture_output=True, text=True)

        ran = local("run", os.path.join(folder, "s3-roundtrip.json"))
        self.assertEqual(ran.returncode, 0, ran.stdout + ran.stderr)

        page = s3.get_object(Bucket="site", Key="v1/index.html")
        self.assertEqual(page["Body"].read().decode(), f"<h1>hello</h1>\n<p>{version}</p>\n",
                         "the deployed page is the build's, stamped with the source object's version")
        self.assertEqual(page["ContentType"], "text/html")
        self.assertEqual(page["CacheControl"], "max-age=60")
        self.assertEqual(s3.get_object(Bucket="site", Key="v1/css/site.css")["ContentType"], "text/css")
        bundle = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket="site", Key="bundle/site.zip")["Body"].read()))
        self.assertEqual(sorted(n for n in bundle.namelist() if not n.endswith("/")), ["css/site.css", "index.html"])

        actions = json.loads(local("actions", "s3-roundtrip", "--json").stdout)["actionExecutionDetails"]
        get = next(a for a in actions if a["actionName"] == "Get")
        self.assertEqual(get["output"]["outputVariables"]["VersionId"], version)
        execution = json.loads(local("executions", "s3-roundtrip", "--json").stdout)["pipelineExecutionSummaries"][0]
        self.assertEqual(execution["sourceRevisions"][0]["revisionId"], version)

        # The execution's artifacts, uploaded to the pipeline's artifact store as CodePipeline lays it out.
        uploaded = local("artifacts", "s3-roundtrip", "--to-s3", "--endpoint-url", self.endpoint,
                         "--region", "us-east-1", "--json")
        self.assertEqual(uploaded.returncode, 0, uploaded.stderr)
        locations = {a["name"]: a["s3location"] for a in json.loads(uploaded.stdout)}
        self.assertEqual(sorted(locations), ["Site", "SourceArtifact"])
        self.assertRegex(locations["SourceArtifact"]["key"], r"^s3-roundtrip/SourceArti/[A-Za-z0-9]{7}$")
        self.assertEqual(locations["Site"]["bucket"], "pipeline-artifacts")
        stored = s3.get_object(Bucket="pipeline-artifacts", Key=locations["Site"]["key"])["Body"].read()
        with zipfile.ZipFile(io.BytesIO(stored)) as z:
            self.assertIn(version, z.read("index.html").decode())
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="pipeline-artifacts")["Contents"]]
        self.assertEqual(sorted(keys), sorted(l["key"] for l in locations.values()))

        # A source object that is not there fails the action with a message that names it.
        pipeline["name"] = "s3-missing"
        pipeline["stages"][0]["actions"][0]["configuration"]["S3ObjectKey"] = "gone.zip"
        with open(os.path.join(folder, "s3-missing.json"), "w") as f:
            json.dump(pipeline, f)
        os.rename(os.path.join(folder, "s3-roundtrip.pipewright.json"), os.path.join(folder, "s3-missing.pipewright.json"))
        failed = local("run", os.path.join(folder, "s3-missing.json"))
        self.assertNotEqual(failed.returncode, 0)
        actions = json.loads(local("actions", "s3-missing", "--json").stdout)["actionExecutionDetails"]
        summary = next(a for a in actions if a["actionName"] == "Get")["output"]["executionResult"]["externalExecutionSummary"]
        self.assertIn("s3://app-sources/gone.zip", summary)
        self.assertIn("NoSuchKey", summary)

    def test_builds_read_parameter_store_and_secrets_manager_from_aws_when_the_settings_ask(self):
        ssm = self.server.client("ssm")
        secrets = self.server.client("secretsmanager")
        ssm.put_parameter(Name="/shop/db-host", Value="db.internal", Type="String")
        ssm.put_parameter(Name="/shop/api-key", Value="k3y-from-ssm", Type="SecureString")
        secrets.create_secret(Name="shop/db", SecretString=json.dumps({"username": "app", "password": "pa55-from-sm"}))
        secrets.create_secret(Name="shop/token", SecretString="tok-from-sm")
        # A newer value: "tok-from-sm" becomes the AWSPREVIOUS stage, which a reference can name.
        secrets.put_secret_value(SecretId="shop/token", SecretString="tok-newer-value")
        folder = tempfile.mkdtemp(prefix="pipewright-stored-")
        os.makedirs(os.path.join(folder, "src"))
        with open(os.path.join(folder, "src", "buildspec.yml"), "w") as f:
            f.write("""version: 0.2
env:
  parameter-store:
    DB_HOST: /shop/db-host
    API_KEY: /shop/api-key
    LOCAL_ONE: /shop/local
    MISSING: /shop/nowhere
  secrets-manager:
    DB_PASSWORD: shop/db:password
    OLD_TOKEN: shop/token::AWSPREVIOUS
phases:
  build:
    commands:
      - echo "host=$DB_HOST key=$API_KEY local=$LOCAL_ONE password=$DB_PASSWORD missing=${MISSING:-unset}"
      - echo "old-token-length=${#OLD_TOKEN}"
      - echo "$DB_HOST $API_KEY $LOCAL_ONE $DB_PASSWORD" > seen.txt
artifacts:
  files: seen.txt
""")
        pipeline = {"name": "stored", "pipelineType": "V2", "stages": [
            {"name": "Source", "actions": [{"name": "Src",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "b", "S3ObjectKey": "k.zip"}, "outputArtifacts": [{"name": "Src"}]}]},
            {"name": "Build", "actions": [
                {"name": "Make", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                 "configuration": {"ProjectName": "stored"}, "inputArtifacts": [{"name": "Src"}], "outputArtifacts": [{"name": "Seen"}]},
                {"name": "Check", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
                 "commands": ["echo \"token-length=${#TOKEN}\""], "inputArtifacts": [{"name": "Src"}],
                 "environmentVariables": [{"name": "TOKEN", "value": "shop/token", "type": "SECRETS_MANAGER"}]}]},
        ]}
        with open(os.path.join(folder, "stored.json"), "w") as f:
            json.dump(pipeline, f)
        with open(os.path.join(folder, "stored.pipewright.yaml"), "w") as f:
            f.write(f"""actions:
  Source/Src: {{path: src}}
parameterStore:
  /shop/local: from-the-settings
storedValuesFromAws: true
aws: {{endpointUrl: "{self.endpoint}", region: us-east-1}}
""")
        local = lambda *args: subprocess.run([CLI, *args], env=self.env, capture_output=True, text=True)
        ran = local("run", os.path.join(folder, "stored.json"))
        self.assertEqual(ran.returncode, 0, ran.stdout + ran.stderr)

        logs = local("logs", "stored").stdout
        for secret in ["db.internal", "k3y-from-ssm", "pa55-from-sm", "from-the-settings", "tok-from-sm", "tok-newer-value"]:
            self.assertNotIn(secret, logs, "every stored value is masked in the log")
        self.assertIn("host=*** key=*** local=*** password=*** missing=unset", logs)
        self.assertIn("DB_HOST is /shop/db-host from Parameter Store: read from AWS", logs)
        self.assertIn("LOCAL_ONE is /shop/local from Parameter Store: the value in the local settings", logs)
        self.assertIn("MISSING comes from Parameter Store (/shop/nowhere)", logs)
        self.assertIn("ParameterNotFound", logs)
        self.assertIn("old-token-length=11", logs, "a version stage names an older value")
        self.assertIn("token-length=15", logs, "without a stage the current value is read")
        out = os.path.join(folder, "seen.zip")
        self.assertEqual(local("artifacts", "stored", "--export", "Seen", "--output", out).returncode, 0)
        with zipfile.ZipFile(out) as z:
            self.assertEqual(z.read("seen.txt").decode(), "db.internal k3y-from-ssm from-the-settings pa55-from-sm\n")


if __name__ == "__main__":
    unittest.main()
