"""`pipewright serve` as the AWS CLI and boto3 see it: a real CodePipeline endpoint on loopback.

Each test class starts its own server on a free port with a data directory of its own and stops
it at the end. Run with tests/aws/run.sh.
"""

import json
import os
import re
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import boto3
from botocore.exceptions import ClientError
from botocore.config import Config

CLI = os.environ["PIPEWRIGHT_CLI"]
PATIENCE_S = 30


def commands(name, lines, run_order=1):
    return {
        "name": name,
        "runOrder": run_order,
        "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
        "commands": lines,
    }


def approval(name, custom_data):
    return {
        "name": name,
        "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
        "configuration": {"CustomData": custom_data},
    }


def declaration(name, *stages):
    return {
        "name": name,
        "roleArn": "arn:aws:iam::000000000000:role/pipewright",
        "artifactStore": {"type": "S3", "location": "local"},
        "pipelineType": "V2",
        "executionMode": "PARALLEL",
        "stages": [{"name": stage, "actions": actions} for stage, actions in stages],
    }


class Server:
    """`pipewright serve --port 0` on its own data directory."""

    def __init__(self, credentials=None):
        self.data = tempfile.mkdtemp(prefix="pipewright-serve-")
        self.credentials = credentials or ("test", "test")
        env = dict(os.environ, PIPEWRIGHT_DATA_DIR=self.data)
        if credentials:
            env["PIPEWRIGHT_SERVE_ACCESS_KEY_ID"], env["PIPEWRIGHT_SERVE_SECRET_ACCESS_KEY"] = credentials
        self.process = subprocess.Popen(
            [CLI, "serve", "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        first = self.process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        if not match:
            self.process.kill()
            raise RuntimeError(f"pipewright serve did not start: {first}")
        self.endpoint = f"http://127.0.0.1:{match.group(1)}"

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def client(self, key_id=None, secret=None):
        return boto3.client(
            "codepipeline",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=key_id or self.credentials[0],
            aws_secret_access_key=secret or self.credentials[1],
            config=Config(retries={"max_attempts": 1}),
        )

    def aws(self, *args):
        """The AWS CLI against this server; its JSON output."""
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.credentials[0], AWS_SECRET_ACCESS_KEY=self.credentials[1],
                   AWS_DEFAULT_REGION="us-east-1")
        out = subprocess.run(
            ["aws", "codepipeline", "--endpoint-url", self.endpoint, "--output", "json", *args],
            env=env, capture_output=True, text=True,
        )
        if out.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed: {out.stderr}")
        return json.loads(out.stdout) if out.stdout.strip() else {}

    def raw(self, target, body, content_type="application/x-amz-json-1.1"):
        """A request as no SDK would send it; the status and the decoded answer."""
        headers = {"Content-Type": content_type}
        if target is not None:
            headers["X-Amz-Target"] = target
        request = urllib.request.Request(self.endpoint + "/", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


def wait_for(what, check, timeout=PATIENCE_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def execution_status(client, name, execution_id):
    return client.get_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)[
        "pipelineExecution"
    ]["status"]


class ServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.client = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_an_approval_waits_and_is_approved_with_the_token_from_the_state(self):
        pipeline = declaration(
            "approve-me",
            ("Build", [commands("Make", ["echo built"])]),
            ("Release", [approval("Approve", "Ship version 7?")]),
        )
        created = self.client.create_pipeline(pipeline=pipeline)
        self.assertEqual(created["pipeline"]["version"], 1)
        started = self.client.start_pipeline_execution(name="approve-me", clientRequestToken="token-1")
        execution_id = started["pipelineExecutionId"]
        # The same clientRequestToken starts nothing new: the same execution comes back.
        again = self.client.start_pipeline_execution(name="approve-me", clientRequestToken="token-1")
        self.assertEqual(again["pipelineExecutionId"], execution_id)

        def approval_token():
            state = self.client.get_pipeline_state(name="approve-me")
            release = next(s for s in state["stageStates"] if s["stageName"] == "Release")
            latest = release["actionStates"][0].get("latestExecution", {})
            return latest.get("token") if latest.get("status") == "InProgress" else None

        token = wait_for("the approval to wait", approval_token)
        state = self.client.get_pipeline_state(name="approve-me")
        self.assertIsInstance(state["created"].year, int)  # epoch seconds, parsed by botocore

        with self.assertRaises(self.client.exceptions.InvalidApprovalTokenException):
            self.client.put_approval_result(
                pipelineName="approve-me", stageName="Release", actionName="Approve",
                result={"summary": "wrong", "status": "Approved"}, token="not-the-token",
            )
        # The AWS CLI approves it.
        approved = self.server.aws(
            "put-approval-result", "--pipeline-name", "approve-me", "--stage-name", "Release",
            "--action-name", "Approve", "--result", "summary=Looks good,status=Approved", "--token", token,
        )
        self.assertIn("approvedAt", approved)
        with self.assertRaises(self.client.exceptions.ApprovalAlreadyCompletedException):
            self.client.put_approval_result(
                pipelineName="approve-me", stageName="Release", actionName="Approve",
                result={"summary": "twice", "status": "Approved"}, token=token,
            )
        wait_for("the execution to succeed", lambda: execution_status(self.client, "approve-me", execution_id) == "Succeeded")

        actions = self.client.list_action_executions(
            pipelineName="approve-me", filter={"pipelineExecutionId": execution_id}
        )["actionExecutionDetails"]
        self.assertEqual({a["actionName"]: a["status"] for a in actions}, {"Make": "Succeeded", "Approve": "Succeeded"})
        # The CLI, on the same data directory, sees what the server did.
        out = subprocess.run([CLI, "--data-dir", self.server.data, "executions", "approve-me", "--json"],
                             capture_output=True, text=True, check=True)
        self.assertEqual(json.loads(out.stdout)["pipelineExecutionSummaries"][0]["status"], "Succeeded")

    def test_source_revisions_start_an_execution_on_an_older_commit(self):
        # A pipeline whose connection source reads a git repository here (its local settings say
        # so), imported into the server's data directory.
        work = tempfile.mkdtemp(prefix="pipewright-revisions-")
        repo = os.path.join(work, "repo")
        os.makedirs(repo)
        git = lambda *args: subprocess.run(["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                                           check=True, capture_output=True, text=True).stdout.strip()
        git("init", "-q", "-b", "main")
        with open(os.path.join(repo, "version.txt"), "w") as f:
            f.write("one\n")
        git("add", ".")
        git("commit", "-q", "-m", "one")
        first = git("rev-parse", "HEAD")
        with open(os.path.join(repo, "version.txt"), "w") as f:
            f.write("two\n")
        git("commit", "-q", "-am", "two")
        source = {"name": "App", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                  "configuration": {"BranchName": "main", "FullRepositoryId": "acme/app"}, "outputArtifacts": [{"name": "Code"}]}
        build = commands("Show", ["cat version.txt"])
        build["inputArtifacts"] = [{"name": "Code"}]
        with open(os.path.join(work, "revisions.json"), "w") as f:
            json.dump(declaration("revisions", ("Source", [source]), ("Build", [build])), f)
        with open(os.path.join(work, "revisions.pipewright.yaml"), "w") as f:
            f.write("actions:\n  Source/App: {path: repo}\n")
        subprocess.run([CLI, "import", os.path.join(work, "revisions.json")], check=True, capture_output=True,
                       env=dict(os.environ, PIPEWRIGHT_DATA_DIR=self.server.data))

        started = self.client.start_pipeline_execution(
            name="revisions", sourceRevisions=[{"actionName": "App", "revisionType": "COMMIT_ID", "revisionValue": first}])
        execution_id = started["pipelineExecutionId"]
        wait_for("the run to end", lambda: execution_status(self.client, "revisions", execution_id) != "InProgress")
        execution = self.client.get_pipeline_execution(pipelineName="revisions", pipelineExecutionId=execution_id)
        self.assertEqual(execution["pipelineExecution"]["status"], "Succeeded")
        self.assertEqual(execution["pipelineExecution"]["artifactRevisions"][0]["revisionId"], first)
        self.assertEqual(execution["pipelineExecution"]["artifactRevisions"][0]["revisionSummary"], "one")

        with self.assertRaises(ClientError) as refused:
            self.client.start_pipeline_execution(
                name="revisions", sourceRevisions=[{"actionName": "App", "revisionType": "S3_OBJECT_VERSION_ID", "revisionValue": "v1"}])
        self.assertEqual(refused.exception.response["Error"]["Code"], "ValidationException")
        with self.assertRaises(ClientError) as refused:
            self.client.start_pipeline_execution(
                name="revisions", sourceRevisions=[{"actionName": "Show", "revisionType": "COMMIT_ID", "revisionValue": first}])
        self.assertIn("not a git source action", refused.exception.response["Error"]["Message"])

    def test_a_failed_stage_is_retried(self):
        marker = os.path.join(self.server.data, "second-attempt")
        flaky = f"if [ -e {marker} ]; then echo passed; else touch {marker}; echo flaky >&2; exit 1; fi"
        self.client.create_pipeline(pipeline=declaration(
            "retry-me", ("Build", [commands("Make", ["true"])]), ("Test", [commands("Flaky", [flaky])])
        ))
        execution_id = self.client.start_pipeline_execution(name="retry-me")["pipelineExecutionId"]
        wait_for("the execution to fail", lambda: execution_status(self.client, "retry-me", execution_id) == "Failed")
        self.client.retry_stage_execution(
            pipelineName="retry-me", stageName="Test", pipelineExecutionId=execution_id, retryMode="FAILED_ACTIONS"
        )
        wait_for("the retried execution to succeed",
                 lambda: execution_status(self.client, "retry-me", execution_id) == "Succeeded")
        with self.assertRaises(self.client.exceptions.StageNotRetryableException):
            self.client.retry_stage_execution(
                pipelineName="retry-me", stageName="Test", pipelineExecutionId=execution_id, retryMode="ALL_ACTIONS"
            )

    def test_stop_and_abandon_kills_what_runs(self):
        # A sleep no other test runs, so the check below finds only this action's process.
        self.client.create_pipeline(pipeline=declaration("stop-me", ("Build", [commands("Sleep", ["sleep 61.5"])])))
        execution_id = self.client.start_pipeline_execution(name="stop-me")["pipelineExecutionId"]
        wait_for("the action to run", lambda: execution_status(self.client, "stop-me", execution_id) == "InProgress")
        time.sleep(0.3)
        stopped = self.client.stop_pipeline_execution(
            pipelineName="stop-me", pipelineExecutionId=execution_id, abandon=True, reason="wrong commit"
        )
        self.assertEqual(stopped["pipelineExecutionId"], execution_id)
        wait_for("the execution to stop", lambda: execution_status(self.client, "stop-me", execution_id) == "Stopped",
                 timeout=10)
        summary = self.client.list_pipeline_executions(pipelineName="stop-me")["pipelineExecutionSummaries"][0]
        self.assertEqual(summary["stopTrigger"]["reason"], "wrong commit")
        running = subprocess.run(["pgrep", "-f", "sleep 61.5"], capture_output=True, text=True).stdout.split()
        self.assertEqual(running, [], "the abandoned action's process was killed")

    def test_errors_carry_the_aws_exception_names(self):
        with self.assertRaises(self.client.exceptions.PipelineNotFoundException):
            self.client.get_pipeline_state(name="no-such-pipeline")
        needs_what_nobody_makes = dict(commands("Make", ["true"]), inputArtifacts=[{"name": "NeverMade"}])
        with self.assertRaises(self.client.exceptions.InvalidStructureException) as raised:
            self.client.create_pipeline(pipeline=declaration("broken", ("Build", [needs_what_nobody_makes])))
        self.assertIn("NeverMade", str(raised.exception))
        self.client.create_pipeline(pipeline=declaration("twice", ("Build", [commands("Make", ["true"])])))
        with self.assertRaises(self.client.exceptions.PipelineNameInUseException):
            self.client.create_pipeline(pipeline=declaration("twice", ("Build", [commands("Make", ["true"])])))
        with self.assertRaises(self.client.exceptions.PipelineExecutionNotFoundException):
            self.client.get_pipeline_execution(pipelineName="twice", pipelineExecutionId="no-such-execution")

    def test_tags_and_deleting_a_pipeline(self):
        created = self.client.create_pipeline(
            pipeline=declaration("tagged", ("Build", [commands("Make", ["true"])])),
            tags=[{"key": "team", "value": "platform"}],
        )
        self.assertEqual(created["tags"], [{"key": "team", "value": "platform"}])
        arn = self.client.get_pipeline(name="tagged")["metadata"]["pipelineArn"]
        self.client.tag_resource(resourceArn=arn, tags=[{"key": "cost", "value": "ci"}, {"key": "team", "value": "web"}])
        tags = self.client.list_tags_for_resource(resourceArn=arn)["tags"]
        self.assertEqual(sorted((t["key"], t["value"]) for t in tags), [("cost", "ci"), ("team", "web")])
        self.client.untag_resource(resourceArn=arn, tagKeys=["cost"])
        self.assertEqual(self.client.list_tags_for_resource(resourceArn=arn)["tags"], [{"key": "team", "value": "web"}])
        with self.assertRaises(self.client.exceptions.InvalidArnException):
            self.client.list_tags_for_resource(resourceArn="tagged")
        with self.assertRaises(self.client.exceptions.InvalidTagsException):
            self.client.tag_resource(resourceArn=arn, tags=[{"key": "aws:reserved", "value": "x"}])

        # `pipewright import` of a create-pipeline document sets its tags too.
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
            json.dump({"pipeline": declaration("imported", ("Build", [commands("Make", ["true"])])),
                       "tags": [{"key": "team", "value": "data"}]}, file)
        imported = subprocess.run([CLI, "--data-dir", self.server.data, "import", file.name],
                                  capture_output=True, text=True)
        self.assertEqual(imported.returncode, 0, imported.stderr)
        arn = self.client.get_pipeline(name="imported")["metadata"]["pipelineArn"]
        self.assertEqual(self.client.list_tags_for_resource(resourceArn=arn)["tags"], [{"key": "team", "value": "data"}])

        # A pipeline with a running execution is not deleted from under it.
        self.client.create_pipeline(pipeline=declaration("delete-me", ("Build", [commands("Sleep", ["sleep 60"])])))
        execution_id = self.client.start_pipeline_execution(name="delete-me")["pipelineExecutionId"]
        wait_for("it to run", lambda: execution_status(self.client, "delete-me", execution_id) == "InProgress")
        with self.assertRaises(self.client.exceptions.ClientError) as raised:
            self.client.delete_pipeline(name="delete-me")
        self.assertEqual(raised.exception.response["Error"]["Code"], "ConflictException")
        self.client.stop_pipeline_execution(pipelineName="delete-me", pipelineExecutionId=execution_id, abandon=True)
        wait_for("it to stop", lambda: execution_status(self.client, "delete-me", execution_id) == "Stopped")
        self.client.delete_pipeline(name="delete-me")
        self.client.delete_pipeline(name="tagged")
        names = [p["name"] for p in self.client.list_pipelines()["pipelines"]]
        self.assertNotIn("delete-me", names)
        with self.assertRaises(self.client.exceptions.PipelineNotFoundException):
            self.client.get_pipeline_execution(pipelineName="delete-me", pipelineExecutionId=execution_id)
        self.client.delete_pipeline(name="delete-me")  # again: nothing there, no error (as on AWS)

    def test_the_pipewright_cli_drives_it_with_aws(self):
        self.client.create_pipeline(pipeline=declaration(
            "from-cli", ("Build", [commands("Make", ["true"])]), ("Release", [approval("Approve", "From the CLI?")])
        ))
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                   PIPEWRIGHT_DATA_DIR=tempfile.mkdtemp(prefix="pipewright-elsewhere-"))
        aws = [CLI, "--aws", "--endpoint-url", self.server.endpoint, "--region", "us-east-1"]

        def run(*args):
            out = subprocess.run([*aws, *args], env=env, capture_output=True, text=True)
            self.assertEqual(out.returncode, 0, out.stderr)
            return out.stdout

        listed = json.loads(run("pipelines", "--json"))
        self.assertIn("from-cli", [p["name"] for p in listed["pipelines"]])
        execution_id = self.client.start_pipeline_execution(name="from-cli")["pipelineExecutionId"]
        wait_for("the approval", lambda: "from-cli" in run("approvals"))
        self.assertIn("From the CLI?", run("approvals"))
        self.assertIn("Approved from-cli/Release/Approve", run("approve", "from-cli", "Release", "Approve", "--summary", "cli"))
        wait_for("success", lambda: execution_status(self.client, "from-cli", execution_id) == "Succeeded")
        state = json.loads(run("state", "from-cli", "--json"))
        self.assertEqual(state["stageStates"][1]["latestExecution"]["status"], "Succeeded")
        exported = json.loads(run("export", "from-cli"))
        self.assertEqual(exported["name"], "from-cli")
        # A command of the local engine only says so.
        out = subprocess.run([*aws, "gc"], env=env, capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("local engine only", out.stderr)

        # A connection kept by the app (its Settings write this file) is named instead.
        with open(os.path.join(env["PIPEWRIGHT_DATA_DIR"], "desktop-connections.json"), "w") as kept:
            json.dump([{"profile": None, "region": "us-east-1", "endpointUrl": self.server.endpoint}], kept)
        named = subprocess.run([CLI, "--connection", "aws:default@us-east-1", "pipelines", "--json"],
                               env=env, capture_output=True, text=True)
        self.assertEqual(named.returncode, 0, named.stderr)
        self.assertIn("from-cli", [p["name"] for p in json.loads(named.stdout)["pipelines"]])
        unknown = subprocess.run([CLI, "--connection", "aws:prod@eu-west-1", "pipelines"],
                                 env=env, capture_output=True, text=True)
        self.assertNotEqual(unknown.returncode, 0)
        self.assertIn("kept: aws:default@us-east-1", unknown.stderr)

    def test_malformed_requests_get_aws_shaped_errors(self):
        status, body = self.server.raw("CodePipeline_20150709.ListPipelines", b"{not json")
        self.assertEqual((status, body["__type"]), (400, "SerializationException"))
        status, body = self.server.raw("CodePipeline_20150709.GetPipeline", b'{"name": 7}')
        self.assertEqual((status, body["__type"]), (400, "SerializationException"))
        self.assertIn("name", body["message"])
        status, body = self.server.raw("CodePipeline_20150709.DeleteEverything", b"{}")
        self.assertEqual((status, body["__type"]), (400, "UnknownOperationException"))
        status, body = self.server.raw(None, b"{}")
        self.assertEqual((status, body["__type"]), (400, "UnknownOperationException"))
        status, body = self.server.raw("CodePipeline_20150709.ListPipelines", b"[1, 2]")
        self.assertEqual((status, body["__type"]), (400, "SerializationException"))
        status, _ = self.server.raw("CodePipeline_20150709.ListPipelines", b" " * (9 * 1024 * 1024))
        self.assertEqual(status, 413)
        # A host name that is not loopback (a web page rebinding its name to 127.0.0.1) is refused.
        request = urllib.request.Request(self.server.endpoint + "/", data=b"{}", method="POST", headers={
            "Host": "attacker.example", "X-Amz-Target": "CodePipeline_20150709.ListPipelines",
            "Content-Type": "application/x-amz-json-1.1"})
        with self.assertRaises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request)
        self.assertEqual(raised.exception.code, 403)
        self.assertEqual(json.loads(raised.exception.read())["__type"], "AccessDeniedException")
        # Still answering after all of that.
        self.assertIn("pipelines", self.client.list_pipelines())

    def test_lists_page_as_aws_pages_them(self):
        for n in range(5):
            self.client.create_pipeline(pipeline=declaration(f"page-{n}", ("Build", [commands("Make", ["true"])])))
        first = self.client.list_pipelines(maxResults=2)
        self.assertEqual(len(first["pipelines"]), 2)
        self.assertIn("nextToken", first)
        names = [
            p["name"]
            for page in self.client.get_paginator("list_pipelines").paginate(PaginationConfig={"PageSize": 2})
            for p in page["pipelines"]
        ]
        self.assertTrue({f"page-{n}" for n in range(5)} <= set(names))
        self.assertEqual(len(names), len(set(names)))
        with self.assertRaises(self.client.exceptions.InvalidNextTokenException):
            self.client.list_pipelines(nextToken="garbage")

    def test_the_aws_cli_reads_pipelines_and_updates_them(self):
        self.client.create_pipeline(pipeline=declaration(
            "cli-made", ("Build", [commands("Make", ["true"])]), ("Deploy", [commands("Ship", ["true"])])
        ))
        listed = self.server.aws("list-pipelines")
        self.assertIn("cli-made", [p["name"] for p in listed["pipelines"]])
        got = self.server.aws("get-pipeline", "--name", "cli-made")
        self.assertEqual(got["metadata"]["pipelineArn"].split(":")[-1], "cli-made")
        got["pipeline"]["stages"][0]["actions"][0]["commands"] = ["echo changed"]
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
            json.dump({"pipeline": got["pipeline"]}, file)
        updated = self.server.aws("update-pipeline", "--cli-input-json", f"file://{file.name}")
        self.assertEqual(updated["pipeline"]["version"], 2)
        self.server.aws(
            "disable-stage-transition", "--pipeline-name", "cli-made", "--stage-name", "Build",
            "--transition-type", "Outbound", "--reason", "freeze",
        )
        state = self.server.aws("get-pipeline-state", "--name", "cli-made")
        deploy = state["stageStates"][1]["inboundTransitionState"]
        self.assertEqual((deploy["enabled"], deploy["disabledReason"]), (False, "freeze"))
        self.server.aws(
            "enable-stage-transition", "--pipeline-name", "cli-made", "--stage-name", "Deploy",
            "--transition-type", "Inbound",
        )
        state = self.server.aws("get-pipeline-state", "--name", "cli-made")
        self.assertTrue(state["stageStates"][1]["inboundTransitionState"]["enabled"])
        types = self.server.aws("list-action-types")
        self.assertIn(("Approval", "Manual"), {(t["id"]["category"], t["id"]["provider"]) for t in types["actionTypes"]})
        # The catalog's properties and artifact counts, as AWS describes its action types.
        aws_owned = self.server.aws("list-action-types", "--action-owner-filter", "AWS")["actionTypes"]
        self.assertTrue(all(t["id"]["owner"] == "AWS" for t in aws_owned))
        code_deploy = next(t for t in aws_owned if t["id"]["category"] == "Deploy" and t["id"]["provider"] == "CodeDeploy")
        required = {p["name"] for p in code_deploy["actionConfigurationProperties"] if p["required"]}
        self.assertEqual(required, {"ApplicationName", "DeploymentGroupName"})
        self.assertEqual(code_deploy["inputArtifactDetails"], {"minimumCount": 1, "maximumCount": 1})
        third_party = self.server.client().list_action_types(actionOwnerFilter="ThirdParty")["actionTypes"]
        github = next(t for t in third_party if t["id"]["provider"] == "GitHub")
        token = next(p for p in github["actionConfigurationProperties"] if p["name"] == "OAuthToken")
        self.assertTrue(token["secret"])


class SignedServeTest(unittest.TestCase):
    """A server given credentials answers only requests signed with them."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(credentials=("AKIDPIPEWRIGHT", "s3cr3t/key+with=signs"))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_requests_signed_with_the_key_are_answered(self):
        self.assertEqual(self.server.client().list_pipelines()["pipelines"], [])
        self.assertEqual(self.server.aws("list-pipelines")["pipelines"], [])

    def test_other_signatures_are_refused_as_aws_refuses_them(self):
        client = self.server.client(secret="not-the-secret")
        with self.assertRaises(client.exceptions.ClientError) as raised:
            client.list_pipelines()
        self.assertEqual(raised.exception.response["Error"]["Code"], "InvalidSignatureException")
        stranger = self.server.client(key_id="AKIDSTRANGER", secret="whatever")
        with self.assertRaises(stranger.exceptions.ClientError) as raised:
            stranger.list_pipelines()
        self.assertEqual(raised.exception.response["Error"]["Code"], "UnrecognizedClientException")
        status, body = self.server.raw("CodePipeline_20150709.ListPipelines", b"{}")
        self.assertEqual((status, body["__type"]), (403, "MissingAuthenticationTokenException"))


if __name__ == "__main__":
    unittest.main()
